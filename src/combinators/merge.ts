import { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import { kOpen, isSource, type AnySource, type Producer } from '../exec/engine/producer.js'
import { MergeProducer } from '../exec/engine/merge-producer.js'
import { PASS_THROUGH, TransformNode } from '../exec/engine/transform-node.js'
import { fail } from '../exec/validate.js'
import type { Flow, Source } from '../exec/types.js'

/** What a source yields. */
type ItemOf<S> = S extends Iterable<infer T> ? T : S extends AsyncIterable<infer T> ? T : never

class MergeFlow<T> extends AsyncIterableX<T> {
  constructor(private readonly sources: readonly AnySource<T>[]) {
    super()
  }

  [Symbol.asyncIterator](signal?: AbortSignal): AsyncIterator<T> {
    // Items pass on as they come: what a plain `for await` over `merge(…)` reads (it owns the run).
    return new TransformNode({ [kOpen]: (s: AbortSignal) => this[kOpen](s) } as unknown as AnySource<unknown>, signal, PASS_THROUGH, 1) as AsyncIterator<T>
  }

  [kOpen](signal: AbortSignal): Producer<T> {
    return new MergeProducer(this.sources, signal)
  }
}

/**
 * One flow from several sources, read concurrently: items come in the order they
 * are ready (each source's own order kept), and a source that always has an item
 * ready takes turns with the others. Sources may be any source, pipelines
 * included: those run as part of the same run (one report, one `env`, one signal).
 * The flow ends when every source has ended; a source that fails ends it with that
 * failure and closes the others, and so do a cancel, a kill or the consumer's
 * `break`: every source is closed, nothing is left running.
 *
 * @example
 * ```ts
 * const parsed = merge(pipe(lines, pool(parse, 2)), pipe(readLines(file), pool(parse, 2)))
 * await run(pipe(parsed, values(), pool(save, 8)))
 * ```
 */
export function merge<S extends readonly Source<unknown>[]>(...sources: S): Flow<ItemOf<S[number]>> {
  sources.forEach((source, i) => {
    if (!isSource(source)) fail('merge', `sources[${i}]`, 'an Iterable or AsyncIterable (array, generator, pipeline, Readable, ReadableStream)', source)
  })
  return new MergeFlow(sources as unknown as AnySource<ItemOf<S[number]>>[])
}
