import { END, EMPTY, type AnySource, type Wakeable } from '../exec/engine/producer.js'
import { IteratorProducer } from '../exec/engine/iterator-producer.js'
import { Node } from '../exec/engine/node.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind, mkLeft, mkRight } from '../result/either.js'
import { StageError } from '../result/stage-error.js'
import type { Flow, Source, StageInput, StageOutput } from '../exec/types.js'

/**
 * What `flatten` emits for an item of type `T`: its elements, or the item itself (a string, a non-iterable).
 *
 * @example
 * ```ts
 * type Lines = ElementOf<AsyncIterable<string>> // string
 * type Same = ElementOf<string> // string: strings are not split
 * ```
 */
export type ElementOf<T> = T extends string ? T : T extends Iterable<infer E> ? E : T extends AsyncIterable<infer E> ? E : T

/** Whether `flatten` reads `value` as a sequence: an iterable or async iterable other than a string. */
function isSequence(value: unknown): value is AnySource<unknown> {
  if (value === null || typeof value !== 'object' || value instanceof String) return false
  try {
    return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  } catch {
    return false // a revoked Proxy is a single item
  }
}

/**
 * Reads each sequence through an IteratorProducer (the source adapter every stage
 * uses): one element per read, an async one awaited, and closed (`return()`) if the
 * stage stops midway. It holds at most one element its reader has not taken.
 */
class FlattenNode extends Node<unknown> {
  private inner: IteratorProducer<unknown> | undefined
  /** The sequence being read, for the `Left` if reading it fails. */
  private sequence: unknown = undefined
  private ended = false
  private readonly innerReady: Wakeable = { wake: () => this.pump() }

  protected work(): void {
    while (!this.stopped && this.outputs.length === 0) {
      if (this.inner !== undefined) {
        let element: unknown
        try {
          element = this.inner.take()
        } catch (error) {
          // What was read of it is out; the rest of it is lost, and its item fails here.
          this.inner = undefined
          this.emit(mkLeft(new StageError('flatten', this.sequence, [error])))
          continue
        }
        if (element === EMPTY) return // the sequence wakes this stage
        if (element === END) this.inner = undefined
        else this.emit(mkRight(element))
        continue
      }
      const item = this.pull()
      if (item === EMPTY || item === END) break
      this.open(item)
    }
    if (this.upstreamDone && this.inner === undefined && !this.stopped && !this.ended) {
      this.ended = true
      this.complete()
    }
  }

  private open(item: unknown): void {
    const kind = eitherKind(item)
    if (kind === KIND_LEFT) return this.emit(item)
    if (kind === KIND_RIGHT) item = (item as { right: unknown }).right
    if (!isSequence(item)) return this.emit(mkRight(item))
    this.sequence = item
    try {
      // Opened with this stage's signal: a pipeline returned by a handler runs as part of this run.
      this.inner = new IteratorProducer(item, this.ac.signal)
    } catch (error) {
      return this.emit(mkLeft(new StageError('flatten', item, [error])))
    }
    this.inner.listen(this.innerReady)
  }

  protected onStop(): void {}

  /** A stop while a sequence is being read closes it (an async generator's `finally` runs). */
  protected override dispose(): Promise<void> | undefined {
    const inner = this.inner
    this.inner = undefined
    return inner?.close()
  }
}

/**
 * Emits the elements of each item that is an iterable or an async iterable (a
 * handler that returns an array, a `Set`, a generator, an async generator, a
 * pipeline), one level deep, in order; other items pass through as they are, and
 * `Left`s pass through untouched. Strings are single items, not sequences of
 * characters (as in IxJS `flat` and streaming-iterables `flatten`). An async
 * iterable is read with backpressure: its next element is asked for only when the
 * stage below takes the one before. A sequence that throws midway keeps what it
 * gave and then becomes a `Left` (stage `flatten`, `item`: the sequence). An empty
 * sequence emits nothing. `unbatch()` is the same for arrays held whole in memory.
 *
 * @example
 * ```ts
 * async function* linesOf(path: string) { yield* readLines(path) } // read lazily, as the stage below takes them
 * pipe(files, pool((path: string) => linesOf(path), 4), flatten(), pool(parse, 2))
 * ```
 */
export function flatten(): <T>(source: Source<StageInput<T>>) => Flow<StageOutput<ElementOf<T>>> {
  return function flattenOperator<T>(source: Source<StageInput<T>>) {
    return stageFlow<StageOutput<ElementOf<T>>>('flatten', source, (src, signal) => new FlattenNode(src, signal))
  }
}
