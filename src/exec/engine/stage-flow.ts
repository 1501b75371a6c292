import { fail } from '../validate.js'
import { isSource, StageFlow, type AnySource, type Producer } from './node.js'

/** Checks, when the operator is applied, that it was given something to iterate. */
export function checkSource(stage: string, source: unknown): asserts source is AnySource<unknown> {
  if (!isSource(source)) fail(stage, 'source', 'an Iterable or AsyncIterable (array, generator, pipeline, Readable, ReadableStream)', source)
}

/** Wraps a node factory as a Flow, after checking the source. */
export function stageFlow(
  stage: string,
  source: unknown,
  open: (source: AnySource<unknown>, signal: AbortSignal | undefined) => Producer<unknown> & AsyncIterator<unknown>,
): StageFlow<any> {
  checkSource(stage, source)
  return new StageFlow<unknown>((signal) => open(source, signal))
}
