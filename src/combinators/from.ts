import { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import { IteratorProducer } from '../exec/engine/iterator-producer.js'
import { kOpen, type Producer } from '../exec/engine/producer.js'
import { checkSource } from '../exec/engine/stage-flow.js'
import { openIterator } from '../exec/drain.js'
import type { Flow, Source } from '../exec/types.js'

class SourceFlow<T> extends AsyncIterableX<T> {
  constructor(private readonly source: Source<T>) {
    super()
  }

  [Symbol.asyncIterator](signal?: AbortSignal): AsyncIterator<T> {
    // Sync iterables are pulled one item per `next()`.
    return openIterator(this.source, signal)
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
