import { TransformNode, type Transform } from '../exec/engine/transform-node.js'
import { Node } from '../exec/engine/node.js'
import { StageFlow } from '../exec/engine/stage-flow.js'
import { kOpen, type AnySource } from '../exec/engine/producer.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import type { Stage, StageInput } from '../exec/types.js'
import { KIND_LEFT, KIND_PLAIN, KIND_RIGHT, eitherKind } from '../result/either.js'
import type { StageError } from '../result/stage-error.js'


const VALUES: Transform<unknown> = {
  onItem(item, node) {
    const kind = eitherKind(item)
    if (kind === KIND_RIGHT) node.push((item as { right: unknown }).right)
    else if (kind === KIND_PLAIN) node.push(item)
    else node.scope.run.drop((item as { left: unknown }).left)
  },
}

const ERRORS: Transform<StageError> = {
  onItem(item, node) {
    if (eitherKind(item) === KIND_LEFT) node.push((item as { left: StageError }).left)
  },
}

const OR_THROW: Transform<unknown> = {
  onItem(item, node) {
    const kind = eitherKind(item)
    if (kind === KIND_LEFT) throw (item as { left: unknown }).left
    node.push(kind === KIND_RIGHT ? (item as { right: unknown }).right : item)
  },
}

/**
 * Keeps the `Right` values, unwrapped; `Left`s are dropped and counted as failed
 * in the run's report (the Python library's behaviour).
 *
 * @example
 * ```ts
 * for await (const user of pipe(ids, pool(fetchUser, 8), values())) console.log(user.name)
 * ```
 */
export function values<A>(): Stage<StageInput<A>, A> {
  return function valuesOperator(source) {
    return stageFlow<A>('values', source, (src: AnySource<unknown>, signal) => {
      if (!(src instanceof StageFlow)) return new TransformNode(src, signal, VALUES, 1)
      // On one of our own stages, the unwrapping is done by that stage as it emits.
      const node = src[kOpen](signal)
      if (node instanceof Node && !node.unwrapValues) {
        node.unwrapValues = true
        return node
      }
      return new TransformNode({ [kOpen]: () => node } as unknown as AnySource<unknown>, signal, VALUES, 1)
    })
  }
}

/**
 * Keeps only the failures: each `Left`'s `StageError`.
 *
 * @example
 * ```ts
 * for await (const error of pipe(ids, pool(fetchUser, 8), errors())) console.error(error.item, error.cause)
 * ```
 */
export function errors<A>(): Stage<StageInput<A>, StageError> {
  return function errorsOperator(source) {
    return stageFlow<StageError>('errors', source, (src, signal) => new TransformNode(src, signal, ERRORS, 1))
  }
}

/**
 * Unwraps `Right` values and throws the first `StageError` to the consumer
 * (after the items before it), stopping everything upstream.
 *
 * @example
 * ```ts
 * for await (const row of pipe(lines, pool(parse), orThrow())) save(row) // throws on the first bad line
 * ```
 */
export function orThrow<A>(): Stage<StageInput<A>, A> {
  return function orThrowOperator(source) {
    return stageFlow<A>('orThrow', source, (src, signal) => {
      const node = new TransformNode(src, signal, OR_THROW, 1)
      // The first Left that gets here ends the run: stages stop starting items at a Left until this has seen it.
      node.scope.run.haltOnLeft = true
      return node
    })
  }
}
