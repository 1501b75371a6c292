import { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import { fail } from '../validate.js'
import { isSource, kOpen, type AnySource, type Producer } from './producer.js'

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

/** Checks, when the operator is applied, that it was given something to iterate. */
export function checkSource(stage: string, source: unknown): asserts source is AnySource<unknown> {
  if (!isSource(source)) fail(stage, 'source', 'an Iterable or AsyncIterable (array, generator, pipeline, Readable, ReadableStream)', source)
}

/**
 * Wraps a node factory as a Flow of `T`, after checking the source. `T` is what
 * the operator's signature promises its items are: the nodes themselves move
 * items as `unknown`.
 */
export function stageFlow<T = any>(
  stage: string,
  source: unknown,
  open: (source: AnySource<unknown>, signal: AbortSignal | undefined) => Producer<unknown> & AsyncIterator<unknown>,
): StageFlow<T> {
  checkSource(stage, source)
  return new StageFlow<T>((signal) => open(source, signal) as Producer<T> & AsyncIterator<T>)
}
