import { PASS_THROUGH, TransformNode } from './engine/transform-node.js'
import type { StageFlow } from './engine/stage-flow.js'
import { stageFlow } from './engine/stage-flow.js'

/** `source` with `env` as the `ctx.env` of every stage upstream: what `provide(env)` and the stream adapters' `env` option do. */
export function provideEnv<T>(source: unknown, env: unknown): StageFlow<T> {
  return stageFlow<T>('provide', source, (src, signal) => new TransformNode<T>(src, signal, PASS_THROUGH, 1, { env }))
}
