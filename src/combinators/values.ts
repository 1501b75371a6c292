import { TransformNode } from '../exec/engine/transform-node.js'
import { Node } from '../exec/engine/node.js'
import { StageFlow } from '../exec/engine/stage-flow.js'
import { kOpen, type AnySource } from '../exec/engine/producer.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import type { Stage, StageInput } from '../exec/types.js'
import { KIND_LEFT, KIND_PLAIN, KIND_RIGHT, eitherKind } from '../result/either.js'
import type { StageError } from '../result/stage-error.js'


class ValuesNode extends TransformNode<unknown> {
  protected onItem(item: unknown): void {
    const kind = eitherKind(item)
    if (kind === KIND_RIGHT) this.emit((item as { right: unknown }).right)
    else if (kind === KIND_PLAIN) this.emit(item)
    else this.scope.run.drop((item as { left: unknown }).left)
  }
}

class ErrorsNode extends TransformNode<StageError> {
  protected onItem(item: unknown): void {
    if (eitherKind(item) === KIND_LEFT) this.emit((item as { left: StageError }).left)
  }
}

class OrThrowNode extends TransformNode<unknown> {
  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined) {
    super(source, signal, 1)
    // The first Left that gets here ends the run: stages stop starting items at a Left until this has seen it.
    this.scope.run.haltOnLeft = true
  }

  protected onItem(item: unknown): void {
    const kind = eitherKind(item)
    if (kind === KIND_LEFT) throw (item as { left: unknown }).left
    this.emit(kind === KIND_RIGHT ? (item as { right: unknown }).right : item)
  }
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
      if (!(src instanceof StageFlow)) return new ValuesNode(src, signal, 1)
      // On one of our own stages, the unwrapping is done by that stage as it emits.
      const node = src[kOpen](signal)
      if (node instanceof Node && !node.unwrapValues) {
        node.unwrapValues = true
        return node
      }
      return new ValuesNode({ [kOpen]: () => node } as unknown as AnySource<unknown>, signal, 1)
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
    return stageFlow<StageError>('errors', source, (src, signal) => new ErrorsNode(src, signal, 1))
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
    return stageFlow<A>('orThrow', source, (src, signal) => new OrThrowNode(src, signal))
  }
}
