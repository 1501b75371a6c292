import { fail } from '../validate.js'
import { isSource, StageFlow, type AnySource, type Producer } from './node.js'

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
