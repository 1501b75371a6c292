import { setMaxListeners } from 'node:events'
import { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import { PipelineError, abortError, cancelledError, internalError, sourceError } from '../../result/pipeline-error.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind } from '../../result/either.js'
import { RunState, Scope, bindScope, scopeOf } from '../scope.js'
import { waitForCleanup } from '../cleanup.js'
import { silentLogger } from '../logger.js'
import { Queue } from './queue.js'

/*
 * The internal protocol between stages. A downstream stage does not `await`
 * its upstream item by item: it calls `take()`, which hands over an item that is
 * ready now (synchronously), or says EMPTY and promises a `wake()` later. Items
 * therefore cross stage boundaries without a promise each, and a chain of stages
 * whose handlers are synchronous runs as one synchronous loop per consumer read.
 */
export const EMPTY: unique symbol = Symbol('pipevine.empty')
export const END: unique symbol = Symbol('pipevine.end')
export type Pulled<T> = T | typeof EMPTY | typeof END

export interface Wakeable {
  wake(): void
}

export interface Producer<T> {
  /** An item that is ready now, or EMPTY (a `wake()` follows), or END. Throws the producer's failure. */
  take(): Pulled<T>
  /** Sets the one consumer that `wake()` is called on. */
  listen(consumer: Wakeable): void
  /** Stops producing, closes everything upstream; resolves once cleanup is done. */
  close(): Promise<void>
}

/** Marks sources that can hand out a Producer directly. */
export const kOpen: unique symbol = Symbol.for('pipevine.open')

interface Openable<T> {
  [kOpen](signal?: AbortSignal): Producer<T>
}

function isOpenable<T>(source: unknown): source is Openable<T> {
  return typeof source === 'object' && source !== null && typeof (source as Partial<Openable<T>>)[kOpen] === 'function'
}

export type AnySource<T> = Iterable<T> | AsyncIterable<T>

export function isSource(value: unknown): value is AnySource<unknown> {
  try {
    return (
      value != null &&
      (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
    )
  } catch {
    return false // a revoked Proxy
  }
}

export function openProducer<T>(source: AnySource<T>, signal: AbortSignal): Producer<T> {
  if (isOpenable<T>(source)) return source[kOpen](signal)
  return new IteratorProducer(source, signal)
}

const arrayValues = Array.prototype[Symbol.iterator]

/**
 * Adapts any (async) iterable to the Producer protocol. It pulls only when a
 * consumer with room asks, so it never reads ahead of what the stage can hold.
 */
export class IteratorProducer<T> implements Producer<T> {
  /** An array read by index, as its own iterator would read it, without a result object per item. */
  private readonly array: readonly T[] | undefined
  private index = 0
  private readonly sync: Iterator<T> | undefined
  private readonly async: AsyncIterator<T> | undefined
  private listener: Wakeable | null = null
  private pending = false
  private hasValue = false
  private value: T | undefined
  private done = false
  private failed = false
  private error: unknown
  private closed = false
  // Bound methods, not arrow functions: one of those is compiled per producer, so per run (see Worker).
  private readonly onResult: (result: IteratorResult<T>) => void
  private readonly onError: (error: unknown) => void

  constructor(
    source: AnySource<T>,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.onResult = this.resultArrived.bind(this)
    this.onError = this.errorArrived.bind(this)
    if (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
      this.async = (source as AsyncIterable<T> & { [Symbol.asyncIterator](signal?: AbortSignal): AsyncIterator<T> })[Symbol.asyncIterator](signal)
    } else if (Array.isArray(source) && source[Symbol.iterator] === arrayValues) {
      this.array = source
    } else {
      this.sync = (source as Iterable<T>)[Symbol.iterator]()
    }
  }

  listen(consumer: Wakeable): void {
    this.listener = consumer
  }

  take(): Pulled<T> {
    if (this.hasValue) {
      const value = this.value as T
      this.hasValue = false
      this.value = undefined
      return value
    }
    if (this.failed) throw this.error
    if (this.done || this.closed) return END
    if (this.array !== undefined) {
      let value: T
      try {
        if (this.index >= this.array.length) {
          this.done = true
          return END
        }
        value = this.array[this.index++]!
      } catch (error) {
        // An element or a length behind a getter or a Proxy trap that throws.
        this.failed = true
        this.error = error
        throw error
      }
      return value
    }
    if (this.sync) {
      let result: IteratorResult<T>
      try {
        result = this.sync.next()
      } catch (error) {
        this.failed = true
        this.error = error
        throw error
      }
      if (result.done) {
        this.done = true
        return END
      }
      return result.value
    }
    if (!this.pending) {
      this.pending = true
      let promise: Promise<IteratorResult<T>>
      try {
        promise = this.async!.next()
      } catch (error) {
        this.pending = false
        this.failed = true
        this.error = error
        throw error
      }
      promise.then(this.onResult, this.onError)
    }
    return EMPTY
  }

  private resultArrived(result: IteratorResult<T>): void {
    this.pending = false
    if (this.closed) return
    if (result.done) this.done = true
    else {
      this.hasValue = true
      this.value = result.value
    }
    this.listener?.wake()
  }

  private errorArrived(error: unknown): void {
    this.pending = false
    if (this.closed) return
    this.failed = true
    this.error = error
    this.listener?.wake()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.hasValue = false
    this.value = undefined
    if (this.done || this.failed) return
    let returning: unknown
    try {
      // With a next() pending, an async generator runs return() (its `finally`) only once that next() settles.
      returning = this.array !== undefined ? undefined : this.sync ? this.sync.return?.() : this.async!.return?.()
    } catch {
      return // A source's cleanup error has no one left to report to.
    }
    if (this.async !== undefined && typeof (returning as PromiseLike<unknown> | undefined)?.then === 'function') {
      const log = scopeOf(this.signal)?.run.log ?? silentLogger
      // Only a stop closes the source: wait for it briefly (see exec/cleanup.ts).
      await waitForCleanup(returning as PromiseLike<unknown>, log, "[source] return() (an async generator's `finally`)", true)
    }
  }
}

interface PendingRead<T> {
  resolve(result: IteratorResult<T>): void
  reject(error: unknown): void
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined }) as IteratorReturnResult<undefined>

/** Each stage by the signal it opens its upstream with (see `Node.downstream`). */
const nodes = new WeakMap<AbortSignal, Node<unknown>>()

/** Thrown into an upstream stage when its consumer has gone (never seen by users). */
export const consumerGone = (): PipelineError => cancelledError('the consumer stopped early')

/**
 * Base of every stage: the output queue, external `next()`/`return()`,
 * the Producer side for downstream stages, abort linking and the pump loop.
 */
export abstract class Node<T> implements Producer<T>, AsyncIterableIterator<T>, Wakeable {
  readonly scope: Scope
  readonly ac = new AbortController()
  protected readonly upstream: Producer<unknown>
  protected readonly outputs = new Queue<T>(4)
  /** The oldest pending `next()` (most consumers have at most one), then any others. */
  private readResolve: PendingRead<T>['resolve'] | null = null
  private readReject: PendingRead<T>['reject'] | null = null
  private reads: Queue<PendingRead<T>> | null = null
  private listener: Wakeable | null = null
  private listenerWaiting = false
  private readonly parentSignal: AbortSignal | undefined
  protected started = false
  protected upstreamDone = false
  /** No more outputs will be produced (some may still sit in `outputs`). */
  protected finished = false
  protected failure: unknown = undefined
  private failureDelivered = false
  protected stopped = false
  protected pumping = false
  /** The upstream said EMPTY and owes a `wake()`: taking again before it would only walk the chain above for nothing. */
  protected upstreamEmpty = false
  private repump = false
  /**
   * Set by a subclass when its last pass of `work` left nothing that another pass
   * could do before an event (a wake, a settled item, a taken output) pumps it
   * anyway. A read that finds no output then skips the pump, which would otherwise
   * run once per read for nothing.
   */
  protected resting = false
  private closing: Promise<void> | undefined
  /** This stage made the run's state (the outermost stage of a plain `for await`). */
  private readonly ownsRun: boolean
  /** A source failure to deliver once in-flight items are out. */
  protected upstreamFailure: unknown = undefined

  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, provided?: { env: unknown }) {
    const parent = scopeOf(signal)
    this.ownsRun = parent === undefined
    const run = parent?.run ?? new RunState(this.ac)
    this.scope = provided ? new Scope(run, provided.env) : (parent ?? new Scope(run, undefined))
    bindScope(this.ac.signal, this.scope)
    nodes.set(this.ac.signal, this)
    // Every worker of the stage (and `fetch`, timers, … in its handlers) listens on this one signal.
    setMaxListeners(0, this.ac.signal)
    this.parentSignal = signal
    if (signal && !signal.aborted) signal.addEventListener('abort', this.onParentAbort, { once: true })
    // The outermost stage of a plain `for await` owns the run: a kill aborts its own
    // controller, and it must stop like any other stage so its consumer gets the error.
    if (parent === undefined) this.ac.signal.addEventListener('abort', this.onRunAbort, { once: true })
    this.upstream = openProducer(source, this.ac.signal)
    this.upstream.listen(this)
  }

  // ---- subclass hooks -------------------------------------------------------

  /** Pull what there is room for and dispatch it. Called inside the pump guard. */
  protected abstract work(): void
  /** Drop queued work and abandon in-flight work: the stage is being stopped. */
  protected abstract onStop(): void
  /** Release per-worker resources; called once, on completion or stop. */
  protected dispose(): Promise<void> | void {}

  // ---- the pump -------------------------------------------------------------

  wake(): void {
    this.upstreamEmpty = false
    this.pump()
  }

  protected pump(): void {
    if (this.pumping) {
      this.repump = true
      return
    }
    this.pumping = true
    this.resting = false
    try {
      if (!this.started) this.begin()
      do {
        this.repump = false
        if (this.stopped) break
        this.work()
      } while (this.repump)
    } catch (error) {
      this.stop(internalError(error))
    } finally {
      this.pumping = false
    }
  }

  private begin(): void {
    this.started = true
    if (this.parentSignal?.aborted) this.stop(this.scope.run.failure ?? abortError(this.parentSignal))
  }

  /** Takes one item from upstream, or returns EMPTY/END; records upstream failure as END. */
  protected pull(): Pulled<unknown> {
    if (this.upstreamEmpty) return EMPTY
    let item: Pulled<unknown>
    try {
      item = this.upstream.take()
    } catch (error) {
      this.upstreamDone = true
      this.upstreamFailure = sourceError(error)
      return END
    }
    // (`typeof` first: a comparison that sees both items and sentinels would not be compiled to a pointer check.)
    if (typeof item === 'symbol') {
      if (item === EMPTY) this.upstreamEmpty = true
      else if (item === END) this.upstreamDone = true
    }
    return item
  }

  // ---- output side ----------------------------------------------------------

  /**
   * Set by a `values()` fused onto this stage: outputs leave as plain values
   * (`Right`s unwrapped) and `Left`s are dropped here, counted as failed, as
   * `values()` would, without a stage of its own in between.
   */
  unwrapValues = false

  /**
   * Set when what reads this stage treats a plain value as the `Right` of it (a
   * stage of ours that unwraps its input, `run`'s drain): a stage that wraps its
   * results (WorkerNode) then lets values that are not themselves Either-shaped
   * leave as they are, with no `Right` allocated for each item at each stage.
   */
  plainValues = false

  protected emit(item: T): void {
    if (this.unwrapValues) {
      const kind = eitherKind(item)
      if (kind === KIND_RIGHT) item = (item as { right: T }).right
      else if (kind === KIND_LEFT) {
        this.scope.run.drop((item as { left: unknown }).left)
        return
      }
    }
    if (this.holdOutputs) {
      this.outputs.push(item)
      return
    }
    if (this.readResolve !== null) return this.resolveRead({ value: item, done: false })
    this.outputs.push(item)
    if (this.listenerWaiting) {
      this.listenerWaiting = false
      this.listener!.wake()
    }
  }

  /**
   * While set, `emit` only queues: no reader is resolved and no consumer woken
   * until `handOver`. A stage sets it to start its next item before whoever reads
   * it runs, and still emit in order if that item settles at once.
   */
  protected holdOutputs = false

  /** Hands what was queued while `holdOutputs` to waiting readers, or wakes the consumer. */
  protected handOver(): void {
    while (this.readResolve !== null && this.outputs.length > 0) this.resolveRead({ value: this.outputs.shift(), done: false })
    if (this.listenerWaiting && this.outputs.length > 0) {
      this.listenerWaiting = false
      this.listener!.wake()
    }
  }

  /** No more outputs. With a failure, consumers get it after the outputs already queued. */
  protected finish(failure?: unknown): void {
    if (this.finished) return
    this.finished = true
    if (failure !== undefined) {
      this.failure = failure
      // The outermost stage of a plain `for await` owns its run: its consumer gets the report with the error, as `run` gives it.
      if (this.ownsRun && failure instanceof PipelineError && failure.report === undefined) failure.report = this.scope.run.report()
    }
    this.detach()
    this.settleReads()
    if (this.listenerWaiting) {
      this.listenerWaiting = false
      this.listener!.wake()
    }
  }

  private settleReads(): void {
    while (this.readResolve !== null && this.outputs.length === 0) {
      if (this.failure !== undefined && !this.failureDelivered) {
        this.failureDelivered = true
        const reject = this.readReject!
        this.shiftRead()
        reject(this.failure)
      } else this.resolveRead(DONE)
    }
  }

  /** Settles the oldest pending read with `result`. */
  private resolveRead(result: IteratorResult<T>): void {
    const resolve = this.readResolve!
    this.shiftRead()
    resolve(result)
  }

  /** Drops the oldest pending read: the next one, if any, moves up. */
  private shiftRead(): void {
    const more = this.reads
    if (more !== null && more.length > 0) {
      const next = more.shift()
      this.readResolve = next.resolve
      this.readReject = next.reject
    } else {
      this.readResolve = null
      this.readReject = null
    }
  }

  private detach(): void {
    this.parentSignal?.removeEventListener('abort', this.onParentAbort)
  }

  listen(consumer: Wakeable): void {
    this.listener = consumer
  }

  /**
   * The stage this one feeds, found through the signal it was opened with, so
   * also across an IxJS operator in between (it passes the signal along).
   */
  downstream(): Node<unknown> | undefined {
    return this.parentSignal === undefined ? undefined : nodes.get(this.parentSignal)
  }

  take(): Pulled<T> {
    const item = this.poll()
    if (typeof item === 'symbol' && item === EMPTY) this.listenerWaiting = true
    return item
  }

  /** `take` for a reader that waits with `next()` rather than `listen`: EMPTY promises no wake. */
  poll(): Pulled<T> {
    if (this.outputs.length === 0 && !this.finished && !this.resting) this.pump()
    if (this.outputs.length > 0) {
      const item = this.outputs.shift()
      // The room this frees matters only if there is something above to pull.
      if ((!this.upstreamDone && !(this.upstreamEmpty && this.resting)) || this.stopped) this.pump()
      return item
    }
    if (this.finished) {
      if (this.failure !== undefined) throw this.failure
      return END
    }
    return EMPTY
  }

  next(): Promise<IteratorResult<T>> {
    if (this.outputs.length === 0 && !this.finished && !this.resting) this.pump()
    if (this.outputs.length > 0) {
      // Reads still waiting come first (only a handler that calls next() as it starts can find outputs held for them).
      if (this.readResolve !== null) return new Promise<IteratorResult<T>>(this.enqueueRead)
      const item = this.outputs.shift()
      if (!(this.upstreamEmpty && this.resting)) this.pump()
      return Promise.resolve({ value: item, done: false })
    }
    if (this.finished) {
      if (this.failure !== undefined && !this.failureDelivered) {
        this.failureDelivered = true
        return Promise.reject(this.failure)
      }
      return Promise.resolve(DONE)
    }
    return new Promise<IteratorResult<T>>(this.enqueueRead)
  }

  /** The executor of every pending read: one function for the node's life, not a closure per read (a bound method: see Worker). */
  private readonly enqueueRead = this.addRead.bind(this)

  private addRead(resolve: PendingRead<T>['resolve'], reject: PendingRead<T>['reject']): void {
    if (this.readResolve === null) {
      this.readResolve = resolve
      this.readReject = reject
    } else (this.reads ??= new Queue<PendingRead<T>>(2)).push({ resolve, reject })
  }

  async return(): Promise<IteratorResult<T>> {
    this.failureDelivered = true
    await this.close()
    return DONE
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    await this.close()
    throw error
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  // ---- stopping -------------------------------------------------------------

  private readonly onRunAbort = (): void => {
    this.stop(this.scope.run.failure ?? abortError(this.ac.signal))
  }

  private readonly onParentAbort = (): void => {
    const signal = this.parentSignal!
    this.stop(this.scope.run.failure ?? (signal.reason instanceof PipelineError ? signal.reason : abortError(signal)))
  }

  /** Stops this stage and everything upstream of it; in-flight work is abandoned. */
  protected stop(error: unknown): void {
    if (this.stopped) return
    this.stopped = true
    this.upstreamDone = true
    try {
      this.onStop()
    } finally {
      this.outputs.clear()
      this.ac.abort(error)
      this.closing ??= this.cleanup()
      this.finish(error)
    }
  }

  private async cleanup(): Promise<void> {
    this.detach()
    await Promise.allSettled([this.upstream.close(), this.dispose()])
  }

  close(): Promise<void> {
    if (!this.stopped) this.stop(consumerGone())
    return this.closing ?? Promise.resolve()
  }

  /** Completion (not a stop): dispose, then finish. Keeps stage-end ordering: dispose has run before END is seen. */
  protected complete(): void {
    if (this.closing !== undefined) return
    const failure = this.upstreamFailure
    let disposing: Promise<void> | void
    try {
      disposing = this.dispose()
    } catch {
      disposing = undefined
    }
    if (disposing === undefined) {
      this.closing = Promise.resolve()
      this.finish(failure)
    } else {
      this.closing = disposing.then(
        () => this.finish(failure),
        () => this.finish(failure),
      )
    }
  }
}

/** A Flow built from a function that opens a fresh Node per iteration. */
export class StageFlow<T> extends AsyncIterableX<T> {
  constructor(private readonly openNode: (signal: AbortSignal | undefined) => Producer<T> & AsyncIterator<T>) {
    super()
  }

  [Symbol.asyncIterator](signal?: AbortSignal): AsyncIterableIterator<T> {
    return this.openNode(signal) as unknown as AsyncIterableIterator<T>
  }

  [kOpen](signal?: AbortSignal): Producer<T> {
    return this.openNode(signal)
  }
}
