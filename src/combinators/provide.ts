import { TransformNode } from '../exec/engine/transform-node.js'
import type { AnySource } from '../exec/engine/node.js'
import { stageFlow } from './_options.js'
import type { Operator } from './types.js'

class ProvideNode<T> extends TransformNode<T> {
  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, env: unknown) {
    super(source, signal, 1, { env })
  }
  protected onItem(item: unknown): void {
    this.emit(item as T)
  }
}

/**
 * Supplies the environment (`ctx.env`) to every stage upstream of it, for use
 * with a plain `for await` (with `run`/`collect`, their `env` option does the same).
 *
 * @example
 * ```ts
 * for await (const r of pipe(ids, pool(load, 4), provide({ db }))) console.log(r)
 * ```
 */
export function provide<T, R>(env: R): Operator<T, T> {
  return function provideOperator(source) {
    return stageFlow('provide', source, (src, signal) => new ProvideNode<T>(src, signal, env))
  }
}
