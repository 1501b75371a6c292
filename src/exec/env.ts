import { TransformNode } from './engine/transform-node.js'
import type { AnySource } from './engine/producer.js'
import type { StageFlow } from './engine/stage-flow.js'
import { stageFlow } from './engine/stage-flow.js'

class ProvideNode<T> extends TransformNode<T> {
  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, env: unknown) {
    super(source, signal, 1, { env })
  }
  protected onItem(item: unknown): void {
    this.emit(item as T)
  }
}

/** `source` with `env` as the `ctx.env` of every stage upstream: what `provide(env)` and the stream adapters' `env` option do. */
export function provideEnv<T>(source: unknown, env: unknown): StageFlow<T> {
  return stageFlow<T>('provide', source, (src, signal) => new ProvideNode<T>(src, signal, env))
}
