import { checkInteger } from '../exec/validate.js'
import { PASS_THROUGH, TransformNode } from '../exec/engine/transform-node.js'
import type { AnySource } from '../exec/engine/producer.js'
import { checkSource, stageFlow } from '../exec/engine/stage-flow.js'
import { from } from './from.js'
import type { Stage } from '../exec/types.js'

/**
 * A queue of `size` items between producer and consumer: it pulls eagerly, so
 * the producer runs up to `size` items ahead even while the consumer is busy.
 * `buffer(0)` reads nothing ahead: items pass through as the consumer asks.
 *
 * @example
 * ```ts
 * pipe(readLines(file), buffer(1_000), pool(parse, 4))
 * ```
 */
export function buffer<T>(size: number): Stage<T, T> {
  checkInteger('buffer', 'size', size, 0)
  return function bufferOperator(source) {
    if (size === 0) {
      checkSource('buffer', source)
      return from(source as AnySource<T>)
    }
    return stageFlow<T>('buffer', source, (src: AnySource<unknown>, signal) => new TransformNode<T>(src, signal, PASS_THROUGH, size))
  }
}
