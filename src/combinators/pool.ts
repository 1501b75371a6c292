import { anchorShapesSoon } from '../exec/shapes.js'
import type { StageContext, StateOf } from '../exec/context.js'
import { WorkerNode } from '../exec/engine/worker-node.js'
import type { WorkerConfig, WorkerOwner } from '../exec/engine/runner.js'
import { createWorker } from '../exec/engine/worker.js'
import { checkFunction, fail, isOptionsObject } from '../exec/validate.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import { parseConcurrency, parseWorkerOptions } from './stage-options.js'
import { fork, forkSpec } from './fork.js'
import { pipe } from './pipe.js'
import { values } from './values.js'
import type { HandlerError, HandlerValue, Operator, StageOutput, WorkerStage } from '../exec/types.js'
import type { AdaptiveConcurrency, WorkerOptions } from './types.js'

const POOL_KEYS = ['concurrency', 'fork']

/** The pipeline src/exec/shapes.ts keeps alive: one of each of the engine's common shapes (a pool, a fork, a fused values()). */
/*
 * The anchor's workers run handlers of five different functions, more than V8
 * inlines at one call: the workers' call of their handler is then a plain call
 * from the start, never compiled with one run's handler in it. A pipeline built
 * with fresh closures (per request, per run) would otherwise have its workers'
 * optimised code thrown away at every GC, as that run's closures die, and start
 * each run slow again (a 1-stage run of 100k items: ~0.22 µs per item instead of ~0.17).
 */
const shapesAnchor = (): AsyncIterable<unknown> =>
  pipe(
    [0, 1, 2],
    pool(async (n: number) => n, 2),
    pool((n: number) => n),
    pool(async (n: number) => n + 0),
    pool((n: number) => n + 0),
    pool(async (n: number) => n * 1),
    fork([async (n: number) => n], ([n]) => n),
    // A limited stage too (tokens at hand, so no timer): the limiter's classes and the workers' admission path.
    pool(async (n: number) => n, { concurrency: 2, rate: { perSecond: 1_000, burst: 3 } }),
    values(),
  )

/**
 * Options of `pool`.
 *
 * @example
 * ```ts
 * pool(fetchUser, { concurrency: 8, timeout: 5_000, retries: 2, ordered: true, name: 'users' })
 * pool(score, { concurrency: 3, fork: (scores) => Math.max(...scores) }) // every item to all 3 workers
 * pool(fetchUser, { concurrency: { min: 1, max: 256 }, rate: { perSecond: 100, burst: 10 } }) // finds its own limit
 * ```
 */
export interface PoolOptions<R = any, I = unknown> extends WorkerOptions<R, I> {
  /**
   * Identical workers, each with its own state (default 1; `Infinity`: no limit). Workers are created as items need them.
   * `{ min, max, initial? }`: adaptive, the stage finds its own limit (see AdaptiveConcurrency).
   */
  concurrency?: number | AdaptiveConcurrency
  /** Send every item to all `concurrency` workers and merge their results (the Python library's `fork_merge`). */
  fork?: (results: any[]) => unknown
}

/**
 * A stage of `concurrency` identical workers; each item goes to one free worker.
 * Failures (throw, reject, or a returned `Left`) become `Left(StageError)` after
 * `retries` extra attempts; `Left` inputs pass through untouched.
 *
 * @example
 * ```ts
 * const users = pipe(ids, pool(fetchUser, { concurrency: 8, timeout: 5_000, retries: 2 }))
 * ```
 */
export function pool<A, O, M, R = unknown, I = void>(
  handler: (item: A, ctx: StageContext<R, StateOf<Awaited<I>>>) => O,
  options: PoolOptions<R, I> & { fork: (results: HandlerValue<O>[]) => M },
): WorkerStage<A, Awaited<M>, R, HandlerError<O>>
export function pool<A, O, R = unknown, I = void>(
  handler: (item: A, ctx: StageContext<R, StateOf<Awaited<I>>>) => O,
  options?: number | PoolOptions<R, I>,
): WorkerStage<A, HandlerValue<O>, R, HandlerError<O>>
export function pool(handler: (item: any, ctx: StageContext<any>) => unknown, options: number | PoolOptions = {}): Operator<unknown, StageOutput<unknown>> {
  anchorShapesSoon(shapesAnchor)
  const opts: PoolOptions = typeof options === 'number' ? { concurrency: options } : options
  if (typeof handler !== 'function') fail('pool', 'handler', 'a function', handler)
  if (typeof options !== 'number' && !isOptionsObject(options)) fail('pool', 'options', 'a concurrency number or an options object', options)
  const { fork } = opts
  const parsed = parseWorkerOptions('pool', opts as Record<string, unknown>, POOL_KEYS)
  const { slots: concurrency, createLimiter } = parseConcurrency('pool', opts.concurrency ?? 1, parsed)
  if ('fork' in opts) checkFunction('pool', 'fork', fork)
  // With `fork`, every item goes to all `concurrency` workers at once: that number has to be finite (and fixed).
  if (fork !== undefined && (concurrency === Infinity || isOptionsObject(opts.concurrency))) {
    fail('pool', 'concurrency', 'a finite integer >= 1 with `fork` (every item goes to each of the `concurrency` workers)', opts.concurrency)
  }
  const name = parsed.name ?? (handler.name || 'pool')
  if (fork !== undefined) {
    const spec = forkSpec(Array.from({ length: concurrency }, () => handler), fork, { ...parsed, name }, 1)
    return function poolForkOperator(source) {
      return stageFlow('pool', source, (src, signal) => new WorkerNode(src, signal, spec))
    }
  }
  const spec = {
    ...parsed,
    createLimiter,
    name,
    slots: concurrency,
    createRunner: (config: WorkerConfig, owner: WorkerOwner, index: number) => createWorker(config, handler, index, owner),
    handlerIndexOf: () => 0,
  }
  return function poolOperator(source) {
    return stageFlow('pool', source, (src, signal) => new WorkerNode(src, signal, spec))
  }
}
