import { fail, isOptionsObject } from '../exec/validate.js'
import type { WorkerConfig, WorkerOwner } from '../exec/engine/runner.js'
import { createWorker } from '../exec/engine/worker.js'
import { WorkerNode } from '../exec/engine/worker-node.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import { parseConcurrency, parseWorkerOptions } from './stage-options.js'
import type { HandlerValue, WorkerStage } from '../exec/types.js'
import type { AdaptiveConcurrency, AnyHandler, EnvOfHandlers, ErrorOfHandlers, ItemOf, WorkerOptions } from './types.js'

/**
 * Options of `mix` (a worker per handler, so no `concurrency`).
 *
 * @example
 * ```ts
 * mix([viaPrimaryApi, viaFallbackApi], { name: 'send', retries: 1, timeout: 3_000 })
 * ```
 */
export interface MixOptions<R = any, I = unknown> extends WorkerOptions<R, I> {
  /** Adaptive concurrency, `{ min, max, initial? }`, with `max` at most the number of handlers (default: every handler at once). */
  concurrency?: AdaptiveConcurrency
}

export function checkHandlers(stage: string, handlers: unknown): asserts handlers is readonly unknown[] {
  if (!Array.isArray(handlers) || handlers.length === 0) fail(stage, 'handlers', 'a non-empty array of functions', handlers)
  handlers.forEach((h, i) => {
    if (typeof h !== 'function') fail(stage, `handlers[${i}]`, 'a function', h)
  })
}

/**
 * A heterogeneous pool: one worker per handler, each item goes to whichever
 * worker is free. Each handler keeps its own state.
 *
 * @typeParam Hs - The handlers, inferred as a tuple (no `as const` needed): they give the
 *   stage its item type, the environment it needs and the typed failures of its `StageError`s.
 * @example
 * ```ts
 * pipe(jobs, mix([viaPrimaryApi, viaFallbackApi], { retries: 1 }))
 * ```
 */
export function mix<const Hs extends readonly AnyHandler[], I = void>(
  handlers: Hs,
  options: MixOptions<EnvOfHandlers<Hs>, I> = {},
): WorkerStage<ItemOf<Hs>, HandlerValue<ReturnType<Hs[number]>>, EnvOfHandlers<Hs>, ErrorOfHandlers<Hs>> {
  checkHandlers('mix', handlers)
  const parsed = parseWorkerOptions('mix', options as Record<string, unknown>, ['concurrency'])
  // A number would mean nothing new (one worker per handler): only the adaptive form is taken.
  if (options.concurrency !== undefined && !isOptionsObject(options.concurrency)) fail('mix', 'concurrency', 'an object { min, max, initial? } (mix runs one worker per handler)', options.concurrency)
  const { createLimiter } = parseConcurrency('mix', options.concurrency ?? handlers.length, parsed, handlers.length)
  const spec = {
    ...parsed,
    createLimiter,
    name: parsed.name ?? 'mix',
    slots: handlers.length,
    createRunner: (config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number) =>
      createWorker(config, handlers[handlerIndex], index, owner, handlerIndex),
    handlerIndexOf: (index: number) => index,
  }
  return function mixOperator(source) {
    return stageFlow('mix', source, (src, signal) => new WorkerNode(src, signal, spec))
  }
}
