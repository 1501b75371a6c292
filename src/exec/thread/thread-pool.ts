import { availableParallelism } from 'node:os'
import type { ResourceLimits } from 'node:worker_threads'
import type { HandlerValue } from '../types.js'
import { kRunner } from '../engine/spawn.js'
import { WorkerState, type StageContext } from '../context.js'
import { checkFunction, checkInteger, checkNumber, fail } from '../validate.js'
import type { Runner, WorkerConfig, WorkerOwner } from '../engine/runner.js'
import { DETACHED_CONFIG, ThreadRunner, anchorShapes, type HostLease, type LeaseOpener } from './thread-runner.js'
import type { Job, JobEnv, LeasedHost, ThreadError } from './thread-job.js'
import { DEFAULTS, THREAD_KEYS, threadTarget, type AnyHandler, type EnvOfHandler, type ThreadHandler, type ThreadOptions } from './thread.js'
import { PoolThreads, type PoolSettings } from './thread-pool-threads.js'

/**
 * Options of `threadPool`: those of `thread`, and the pool's own.
 *
 * @example
 * ```ts
 * threadPool(new URL('./hash.js', import.meta.url), { threads: 4, idleTimeoutMs: 30_000, resourceLimits: { maxOldGenerationSizeMb: 256 } })
 * ```
 */
export interface ThreadPoolOptions extends ThreadOptions {
  /** How many threads (default `os.availableParallelism()`). */
  threads?: number
  /** A thread with no work for this long ends; it starts again when an item comes (default: threads live until `close()`). */
  idleTimeoutMs?: number
  /** Passed to each `Worker`: a thread that goes past them fails the item it was running as `crashed`, naming the limit, and is replaced. */
  resourceLimits?: ResourceLimits
  /** Node options for the threads (`Worker`'s `execArgv`; default: the process's own). */
  execArgv?: string[]
  /**
   * Runs on the main thread once per thread of the pool, before it starts; its
   * result is cloned into that thread's `ctx.state`, which lasts for the pool's life.
   */
  init?: (ctx: StageContext<unknown>) => unknown
  /** Runs once per thread that `init` ran for, at `close()`, with that thread's state. */
  dispose?: (state: WorkerState, ctx: StageContext<unknown>) => unknown
}

/** The pools' per-run shapes are kept (see anchorShapes). */
let anchored = false

const POOL_KEYS = [...THREAD_KEYS, 'threads', 'idleTimeoutMs', 'resourceLimits', 'execArgv', 'init', 'dispose'] as const

/**
 * A thread handler whose threads outlive the runs that use it: usable wherever
 * `thread(…)` is (`pool`, `mix`, `fork`), by any number of runs, one after
 * another or at once.
 *
 * @example
 * ```ts
 * await using hasher = threadPool(new URL('./hash.js', import.meta.url), { threads: 4 })
 * await hasher.ready()
 * await run(pipe(files, pool(hasher, 8)))
 * ```
 */
export type ThreadPool<A, B, R = any> = ThreadHandler<A, B, R> & {
  /** How many threads the pool runs. */
  readonly threads: number
  /** Starts every thread now (rather than on first use); settles once each has loaded its module. Rejects with the `ThreadError` of a module that can't load. */
  ready(): Promise<void>
  /**
   * Ends the pool: new items fail with a `ThreadError` (`closed`), items in
   * flight finish (with `force: true`, they fail at once and their `ctx.signal`
   * aborts), `dispose` runs for each thread, and every thread ends.
   */
  close(options?: { force?: boolean }): Promise<void>
  /** `close()`, for `await using pool = threadPool(…)`. */
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Worker threads that live until `close()`, for programs that run many
 * pipelines (a server running one per request): the threads start once (on
 * first use, or at `ready()`), keep their module, `ctx.state` and batch sizes
 * from run to run, and never keep the process alive while idle. Items, results,
 * batching, `transfer`, crashes, timeouts and ordering behave as with `thread(…)`.
 *
 * - Several runs may use one pool at once: each stage holds at most its
 *   `concurrency` workers' share of items, and the pool's `threads` bound the
 *   CPU used. Cancelling, killing or breaking out of one run aborts only that
 *   run's items; the threads stay up (one stuck past an item's timeout is
 *   replaced, as always).
 * - In the thread, `ctx.env` is the env of the run the item belongs to (cloned
 *   once per thread per run), `ctx.state` the thread's own, seeded by the pool's
 *   `init`; `ctx.stage` is the pool's name. A stage's own `init`/`dispose` still
 *   run per worker on the main thread, but their state does not reach the pool's threads.
 * - After `close()`, each item given to the pool fails with a `ThreadError` (`closed`).
 *
 * @typeParam F - The export's type, `typeof import('…').default`: it types the stage's items and results.
 * @example
 * ```ts
 * const hasher = threadPool<typeof import('./hash.js').default>(new URL('./hash.js', import.meta.url), { threads: 4 })
 * await run(pipe(files, pool(hasher, 8)))           // threads start on first use…
 * await run(pipe(files.slice(1), pool(hasher, 8)))  // …and are still warm here
 * await hasher.close()
 * ```
 */
export function threadPool<F extends AnyHandler = (item: any, ctx: StageContext<any>) => any>(
  moduleUrl: string | URL,
  exportName?: string,
  options?: ThreadPoolOptions,
): ThreadPool<Parameters<F>[0], HandlerValue<ReturnType<F>>, EnvOfHandler<F>>
export function threadPool<F extends AnyHandler = (item: any, ctx: StageContext<any>) => any>(
  moduleUrl: string | URL,
  options: ThreadPoolOptions,
): ThreadPool<Parameters<F>[0], HandlerValue<ReturnType<F>>, EnvOfHandler<F>>
/**
 * The same for a self-contained function (see `thread(fn)`).
 *
 * @example
 * ```ts
 * const roots = threadPool((n: number) => { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i); return x }, { threads: 2 })
 * ```
 */
export function threadPool<F extends AnyHandler>(fn: F, options?: ThreadPoolOptions): ThreadPool<Parameters<F>[0], HandlerValue<ReturnType<F>>, EnvOfHandler<F>>
export function threadPool(target: string | URL | AnyHandler, second?: string | ThreadPoolOptions, third?: ThreadPoolOptions): ThreadPool<unknown, unknown> {
  const { load, name, options } = threadTarget<ThreadPoolOptions>('threadPool', target, second, third, POOL_KEYS)
  const { threads = availableParallelism(), idleTimeoutMs = 0, resourceLimits, execArgv, init, dispose } = options
  checkInteger('threadPool', 'threads', threads, 1)
  if (options.idleTimeoutMs !== undefined) checkNumber('threadPool', 'idleTimeoutMs', idleTimeoutMs, 1)
  if (resourceLimits !== undefined && (typeof resourceLimits !== 'object' || resourceLimits === null)) fail('threadPool', 'resourceLimits', 'an object (Worker resourceLimits)', resourceLimits)
  if (execArgv !== undefined && (!Array.isArray(execArgv) || execArgv.some((a) => typeof a !== 'string'))) fail('threadPool', 'execArgv', 'an array of strings', execArgv)
  if (init !== undefined) checkFunction('threadPool', 'init', init)
  if (dispose !== undefined) checkFunction('threadPool', 'dispose', dispose)
  const settings: PoolSettings = {
    ...DEFAULTS,
    ...options,
    threads,
    idleTimeoutMs,
    worker: { ...(resourceLimits !== undefined ? { resourceLimits } : {}), ...(execArgv !== undefined ? { execArgv } : {}) },
    init,
    dispose,
  }
  const pool = new PoolThreads(load, name, settings)
  if (!anchored) {
    anchored = true
    // A lease on a pool of nothing that is never used, and an opener of such leases: they start no thread, and hold none of the caller's options.
    const idle = new PoolThreads({ source: '' }, 'pipevine shapes', { ...DEFAULTS, threads: 1, idleTimeoutMs: 0, worker: {}, init: undefined, dispose: undefined })
    anchorShapes(new PoolLease(idle, 0, { value: undefined }), new PoolLeaseOpener(idle, DETACHED_CONFIG))
  }

  const handler = function threadPoolHandler(): never {
    throw new TypeError(`thread pool "${name}" runs inside pool, mix or fork; it can't be called directly`)
  }
  Object.defineProperty(handler, 'name', { value: name })
  const makeRunner = (config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner =>
    new ThreadRunner(config, new PoolLeaseOpener(pool, config), owner, index, handlerIndex, 2 * settings.maxBatch)
  Object.defineProperties(handler, {
    [kRunner]: { value: makeRunner },
    threads: { value: threads, enumerable: true },
    ready: { value: () => pool.ready() },
    close: { value: (closeOptions?: { force?: boolean }) => pool.close(closeOptions?.force === true) },
    [Symbol.asyncDispose]: { value: () => pool.close(false) },
  })
  return handler as unknown as ThreadPool<unknown, unknown>
}

/** Leases a runner its share of the pool (see ThreadRunner.host). */
class PoolLeaseOpener implements LeaseOpener {
  constructor(
    private readonly pool: PoolThreads,
    private readonly config: WorkerConfig,
  ) {}

  open(): HostLease {
    return new PoolLease(this.pool, this.config.timeout, this.pool.use(this.config))
  }
}

/** One thread runner's share of a pool: its jobs carry its run's timeout and env. */
class PoolLease implements LeasedHost, HostLease {
  readonly host = this

  constructor(
    private readonly pool: PoolThreads,
    private readonly timeout: number,
    private readonly env: JobEnv,
  ) {}

  get dead(): ThreadError | undefined {
    return this.pool.dead
  }

  limit(): number {
    return this.pool.limit()
  }

  submit(job: Job): void {
    job.timeout = this.timeout
    job.env = this.env
    this.pool.submit(job)
  }

  cancel(jobs: Iterable<Job>, reason: unknown): void {
    for (const job of jobs) job.live = false
    this.pool.abortGivenUp(reason)
  }

  release(): Promise<void> {
    return Promise.resolve()
  }
}
