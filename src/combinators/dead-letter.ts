import { TransformNode, type Transform } from '../exec/engine/transform-node.js'
import { isThenable } from '../exec/engine/settle.js'
import { fail } from '../exec/validate.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import type { Stage, StageInput } from '../exec/types.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind } from '../result/either.js'
import { internalError, type PipelineError } from '../result/pipeline-error.js'
import type { StageError } from '../result/stage-error.js'

/**
 * Where `deadLetter` sends failures: a function, or anything with `write` (a Writable, an array-backed sink, …).
 * A returned promise is awaited before the next item; a throw or rejection ends the run.
 *
 * @example
 * ```ts
 * const sink: DeadLetterSink = { write: (e) => appendFile('failed.log', `${e.stage}\t${JSON.stringify(e.item)}\n`) }
 * ```
 */
export type DeadLetterSink =
  | ((error: StageError) => unknown)
  | {
      /** Called with each failure, in order. */
      write(error: StageError): unknown
    }

/** Sends the Lefts to the sink; passes the values on. */
class DeadLetters implements Transform<unknown> {
  constructor(private readonly send: (error: StageError) => unknown) {}

  onItem(item: unknown, node: TransformNode<unknown>): void | Promise<void> {
    const kind = eitherKind(item)
    if (kind === KIND_RIGHT) return node.push((item as { right: unknown }).right)
    if (kind === KIND_LEFT) {
      node.scope.run.dropped++
      try {
        const sent = this.send((item as { left: StageError }).left)
        // Promise.resolve adopts any thenable safely: a `then` that throws is a rejection, only its first call counts.
        if (isThenable(sent)) return Promise.resolve(sent).then(noop, (error) => Promise.reject(sinkFailed(error)))
      } catch (error) {
        throw sinkFailed(error)
      }
      return
    }
    node.push(item)
  }
}

const noop = (): void => {}
const sinkFailed = (cause: unknown): PipelineError => internalError(cause, 'deadLetter: the sink failed')

/**
 * Sends each `Left`'s `StageError` to `sink` and passes the `Right` values on,
 * unwrapped: the main flow continues and nothing is lost. A sink that returns a
 * promise is awaited (backpressure); a sink that throws ends the run with an `internal` error.
 *
 * @example
 * ```ts
 * const failed: StageError[] = []
 * pipe(files, pool(readFile, 4), deadLetter((e) => failed.push(e)), pool(hash, 2))
 * ```
 */
export function deadLetter<A>(sink: DeadLetterSink): Stage<StageInput<A>, A> {
  let send: (error: StageError) => unknown
  if (typeof sink === 'function') send = sink
  else if (sink !== null && typeof sink === 'object' && typeof sink.write === 'function') send = (error) => sink.write(error)
  else {
    fail('deadLetter', 'sink', 'a function or an object with `write`', sink)
  }
  return function deadLetterOperator(source) {
    return stageFlow<A>('deadLetter', source, (src, signal) => new TransformNode(src, signal, new DeadLetters(send), 1))
  }
}
