import { Node } from './engine/node.js'
import { EMPTY, END, type AnySource, type Wakeable } from './engine/producer.js'
import { PipelineError } from '../result/pipeline-error.js'
import { cleanupBounds, waitAtMost } from './cleanup.js'

/*
 * The one consumer side of a pipeline: how `run`/`collect` and the stream
 * adapters open a flow, read it, and close it when they stop early.
 */

/**
 * A sync iterable seen through the async iterator protocol, pulled one item per
 * `next()`; what it throws becomes a rejection.
 */
class SyncToAsync<T> implements AsyncIterableIterator<T> {
  constructor(private readonly iterator: Iterator<T>) {}
  next(): Promise<IteratorResult<T>> {
    try {
      return Promise.resolve(this.iterator.next())
    } catch (error) {
      return Promise.reject(error)
    }
  }
  return(): Promise<IteratorResult<T>> {
    try {
      return Promise.resolve(this.iterator.return?.() ?? { done: true, value: undefined })
    } catch (error) {
      return Promise.reject(error)
    }
  }
  [Symbol.asyncIterator](): this {
    return this
  }
}

/** Opens `source` for reading, handing `signal` to its first stage (which links the whole run to it). */
export function openIterator<T>(source: AnySource<T>, signal: AbortSignal | undefined): AsyncIterator<T> {
  const open = (source as { [Symbol.asyncIterator]?: (signal?: AbortSignal) => AsyncIterator<T> })[Symbol.asyncIterator]
  if (typeof open === 'function') return open.call(source, signal)
  return new SyncToAsync((source as Iterable<T>)[Symbol.iterator]())
}

/**
 * What a drain hands each item to; `accept` returns false to stop (the flow stays
 * open). An object with a method rather than a function: the drain's loop then
 * calls one method of one class run after run (run's `Tally`), where a fresh
 * closure per run would be compiled into the loop as a constant that dies with
 * its run, discarding the loop's optimised code at every GC.
 */
export interface ItemSink {
  accept(item: unknown): boolean
}

/** A sweep that takes this many items without waiting yields to the event loop. */
const SWEEP_YIELD = 4096

const ignore = (): void => {}

/**
 * Reads `iterator` into `sink` until the flow ends (resolves true) or `sink`
 * refuses the item it was just given (resolves false: the flow stays
 * open, to be drained again or closed). Rejects with the flow's failure.
 *
 * One of our own stages is read through the take protocol, as a stage below it
 * would (see `NodeDrain`). Anything else is read one `next()` at a time; an IxJS
 * operator or a generator may not reject a pending read when the run aborts, so
 * with `stopped` each read is raced against it, and a lost race rejects with what
 * it resolved to. With `plain`, `sink` takes a plain value as the `Right` of it
 * (and a bare StageError as a failure), so our stages need not wrap each value.
 */
export function drain(iterator: AsyncIterator<unknown>, sink: ItemSink, stopped?: Promise<PipelineError>, plain = false): Promise<boolean> {
  if (!(iterator instanceof Node)) return drainIterator(iterator, sink, stopped)
  const reader = new NodeDrain(iterator, sink, plain)
  reader.sweep()
  return reader.result
}

/**
 * Drains one of our own stages: it takes everything that is ready in one
 * synchronous sweep and, when the stage has nothing, is woken by it
 * (synchronously, as the stage emits) instead of waiting on a promise per item.
 */
export class NodeDrain implements Wakeable {
  readonly result: Promise<boolean>
  private resolve!: (done: boolean) => void
  private reject!: (error: unknown) => void
  private over = false

  constructor(
    private readonly node: Node<unknown>,
    private readonly sink: ItemSink,
    plain: boolean,
  ) {
    this.result = new Promise<boolean>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    if (plain) node.plainValues = true
    node.listen(this)
  }

  wake(): void {
    this.sweep()
  }

  sweep(): void {
    if (this.over) return
    let swept = 0
    try {
      for (;;) {
        const item = this.node.take()
        if (typeof item === 'symbol') {
          if (item === EMPTY) return
          if (item === END) return this.end(true)
        }
        if (!this.sink.accept(item)) return this.end(false)
        // The stage has nothing more now and will wake this drain when it has.
        if (this.node.owesWake) return
        // A pipeline that never waits (synchronous handlers over an array) would
        // otherwise hold the event loop for the whole run: no progress, no timeouts.
        if (++swept === SWEEP_YIELD) {
          setImmediate(() => this.sweep())
          return
        }
      }
    } catch (error) {
      this.over = true
      this.reject(error)
    }
  }

  private end(done: boolean): void {
    this.over = true
    this.resolve(done)
  }
}

async function drainIterator(iterator: AsyncIterator<unknown>, sink: ItemSink, stopped: Promise<PipelineError> | undefined): Promise<boolean> {
  for (;;) {
    const next = iterator.next()
    const step = stopped === undefined ? await next : await Promise.race([next, stopped])
    if (step instanceof PipelineError) {
      next.then(undefined, ignore)
      throw step
    }
    if (step.done) return true
    if (!sink.accept(step.value)) return false
  }
}

/**
 * Closes a flow its reader stopped reading early: stops every stage, closes the
 * source. Never rejects (the flow's own cleanup failing after its reader left has
 * no one to go to). Our own stages bound the user cleanup they wait for; anything
 * else (a generator, an IxJS operator) may wait on a stuck `next()` or a slow
 * `finally`: that is waited for only briefly (see cleanup.ts).
 */
export async function closeIterator(iterator: AsyncIterator<unknown>): Promise<void> {
  try {
    const returning = iterator.return?.()
    if (iterator instanceof Node) await returning
    else if (returning !== undefined) await waitAtMost(returning, cleanupBounds.stopWaitMs)
  } catch {
    // the flow's own cleanup failed after its reader left; nothing to deliver it to
  }
}
