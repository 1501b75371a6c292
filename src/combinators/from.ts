import { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import { IteratorProducer, kOpen, type Producer } from '../exec/engine/node.js'
import { checkSource } from '../exec/engine/stage-flow.js'
import type { Flow, Source } from '../exec/types.js'

/** Sync iterables seen through the async iterator protocol, pulled one item per `next()`. */
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

class SourceFlow<T> extends AsyncIterableX<T> {
  constructor(private readonly source: Source<T>) {
    super()
  }

  [Symbol.asyncIterator](signal?: AbortSignal): AsyncIterator<T> {
    const source = this.source as Partial<AsyncIterable<T>> & Partial<Iterable<T>>
    if (typeof source[Symbol.asyncIterator] === 'function') {
      return (source as { [Symbol.asyncIterator](signal?: AbortSignal): AsyncIterator<T> })[Symbol.asyncIterator](signal)
    }
    return new SyncToAsync(source[Symbol.iterator]!())
  }

  [kOpen](signal?: AbortSignal): Producer<T> {
    return new IteratorProducer(this.source, signal)
  }
}

/**
 * Makes a Flow of any source: arrays and other iterables (pulled lazily, never
 * copied), async iterables and generators, other pipelines, Node `Readable`s and
 * web `ReadableStream`s.
 *
 * @example
 * ```ts
 * const lines = from(readline.createInterface({ input: fs.createReadStream('data.csv') }))
 * ```
 */
export function from<T>(source: Source<T>): Flow<T> {
  if (source instanceof AsyncIterableX) return source as Flow<T>
  checkSource('from', source)
  return new SourceFlow(source)
}
