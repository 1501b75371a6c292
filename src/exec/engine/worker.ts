import { WorkerState, type StageContext } from '../context.js'
import { isKill } from '../kill.js'
import { waitForCleanup } from '../cleanup.js'
import { KIND_PLAIN, KIND_RIGHT, eitherKind } from '../../result/either.js'
import { TimeoutError, messageOf } from '../../result/stage-error.js'
import { logsAt } from '../logger.js'
import { isThenable, whenSettled } from './settle.js'
import { hasRunner, kRunner } from './spawn.js'
import type { HandlerFn, Runner, WorkerConfig, WorkerOwner } from './runner.js'

class Context implements StageContext<unknown> {
  constructor(
    public env: unknown,
    public state: WorkerState,
    public signal: AbortSignal,
    public attempt: number,
    public worker: number,
    public stage: string,
    public log: StageContext['log'],
  ) {}
}

const noFailure: unknown[] | null = null

/** Past its first TIMING_SAMPLE attempts, a worker times one attempt in TIMING_SAMPLE (a power of two). */
export const TIMING_SAMPLE = 16

/**
 * One worker: runs one item at a time through its handler, with attempts in
 * place, a per-attempt timeout, and init/dispose around its life. Without a
 * timeout it allocates nothing per item but the handler's own promise: the
 * context object is reused and the promise callbacks are bound once.
 */
export class Worker implements Runner {
  readonly ctx: Context
  private readonly fn: HandlerFn
  item: unknown = undefined
  /** The item's position in the stage's input (for ordered output). */
  seq = 0
  busy = false
  /** Abandoned (stage stopped): late results are discarded. */
  private retired = false
  /** Set when `init` failed: this worker takes no more items. */
  broken: unknown = undefined
  private initState: 0 | 1 | 2 = 0 // none, running, done
  private used = false
  private disposed = false
  private maxAttempt = 1
  private errors: unknown[] | null = null
  /** When the timed attempt started; -1 when this attempt is not timed. */
  private startedAt = -1
  /** Attempts so far, for sampling which ones are timed. */
  private attempts = 0
  private readonly timing: boolean
  private token = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private attemptAc: AbortController | undefined

  constructor(
    private readonly config: WorkerConfig,
    handler: unknown,
    readonly index: number,
    private readonly owner: WorkerOwner,
    /** Which of the stage's handlers this worker runs (mix). */
    readonly handlerIndex = 0,
  ) {
    const { scope, stats, signal } = config
    this.timing = scope.run.timing
    this.ctx = new Context(scope.env, new WorkerState(), signal, 1, index, stats.name, scope.run.log)
    this.fn = handler as HandlerFn
  }

  /** Runs `item`, whose earlier attempts (from upstream of a `retry`) failed with `priorErrors`. */
  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra = this.config.retries): void {
    // A runner is retired when its stage stops; one that was disposed has no init/dispose pair left to run.
    if (this.retired || this.disposed) return
    this.busy = true
    this.used = true
    this.item = item
    this.seq = seq
    this.errors = priorErrors === null ? noFailure : priorErrors.slice()
    const first = priorErrors === null ? 1 : priorErrors.length + 1
    this.ctx.attempt = first
    this.maxAttempt = first + maxExtra
    if (this.config.init !== undefined && this.initState !== 2) this.initialize()
    else this.attempt()
  }

  private initialize(): void {
    if (this.initState === 1) return
    this.initState = 1
    callInit(
      this.config.init!,
      this.ctx,
      (value) => (this.retired ? this.lateInit(value) : this.initDone(value)),
      (error) => this.retired || this.initFailed(error),
    )
  }

  private initDone(value: unknown): void {
    try {
      WorkerState.seed(this.ctx.state, value)
    } catch (error) {
      // `init` returned something whose entries can't be read (a revoked Proxy): it failed.
      return this.initFailed(error)
    }
    this.initState = 2
    this.attempt()
  }

  private lateInit(value: unknown): void {
    this.initState = 2
    settleLateInit(this.config, this.ctx, this.index, value, this.disposed)
  }

  private initFailed(error: unknown): void {
    this.initState = 2
    this.broken = error
    this.config.scope.run.log.error(`[${this.config.stats.name}] init failed for worker ${this.index}: ${messageOf(error)}`)
    this.finishFailure(error, false)
  }

  private attempt(): void {
    const { config } = this
    // A clock read costs about as much as a cheap handler, so past a worker's first
    // attempts only one in TIMING_SAMPLE is timed, and counts for TIMING_SAMPLE.
    if (this.timing && (++this.attempts <= TIMING_SAMPLE || (this.attempts & (TIMING_SAMPLE - 1)) === 0)) this.startedAt = performance.now()
    let result: unknown
    if (config.timeout > 0) return this.attemptWithTimeout()
    try {
      result = this.fn(this.item, this.ctx)
    } catch (error) {
      return this.onError(error)
    }
    if (!whenSettled(result, this.onValue, this.onError)) this.onValue(result)
  }

  private attemptWithTimeout(): void {
    const { config } = this
    const token = ++this.token
    const ac = new AbortController()
    const ms = config.timeout
    this.attemptAc = ac
    const ctx = new Context(this.ctx.env, this.ctx.state, ac.signal, this.ctx.attempt, this.index, this.ctx.stage, this.ctx.log)
    this.timer = setTimeout(() => {
      if (token !== this.token || this.retired) return
      this.expire(ac, ms)
    }, ms)
    // A handler that blocks the thread past its deadline keeps the timer from firing:
    // a result that arrives late (synchronously, or on a promise already settled) is a timeout too.
    const deadline = performance.now() + ms
    let result: unknown
    try {
      result = this.fn(this.item, ctx)
    } catch (error) {
      return performance.now() >= deadline ? this.expireLate(ac, ms) : this.settleAttempt(false, error)
    }
    const settled = whenSettled(
      result,
      (value) => (token !== this.token ? this.late() : performance.now() >= deadline ? this.expireLate(ac, ms) : this.onValue(value)),
      (error) => (token !== this.token ? this.late() : performance.now() >= deadline ? this.expireLate(ac, ms) : this.onError(error)),
    )
    if (settled) return
    if (performance.now() >= deadline) this.expireLate(ac, ms)
    else this.onValue(result)
  }

  /** The attempt's deadline passed: its signal aborts and it fails with a TimeoutError. */
  private expire(ac: AbortController, ms: number): void {
    const error = new TimeoutError(this.config.stats.name, ms)
    ac.abort(error)
    this.settleAttempt(false, error)
  }

  /** The result came after the deadline, before the timer could fire: it is discarded, as a late one is. */
  private expireLate(ac: AbortController, ms: number): void {
    if (this.retired) return this.late()
    this.late()
    this.expire(ac, ms)
  }

  private readonly onValue = (value: unknown): void => {
    if (this.retired) return this.late()
    if (isKill(value)) {
      this.config.scope.run.kill(value.reason)
      return
    }
    const kind = eitherKind(value)
    if (kind !== KIND_PLAIN) {
      let inner: unknown
      try {
        inner = kind === KIND_RIGHT ? (value as { right: unknown }).right : (value as { left: unknown }).left
      } catch (error) {
        // An Either whose value can't be read: the attempt failed with that.
        return this.settleAttempt(false, error)
      }
      return this.settleAttempt(kind === KIND_RIGHT, inner)
    }
    this.settleAttempt(true, value)
  }

  private readonly onError = (error: unknown): void => {
    if (this.retired) return this.late()
    this.settleAttempt(false, error)
  }

  private late(): void {
    this.config.stats.discarded++
  }

  private settleAttempt(ok: boolean, value: unknown): void {
    const { config } = this
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
      this.token++
      this.attemptAc = undefined
    }
    if (this.startedAt >= 0) {
      config.stats.busyMs += (performance.now() - this.startedAt) * (this.attempts <= TIMING_SAMPLE ? 1 : TIMING_SAMPLE)
      this.startedAt = -1
    }
    if (ok) return this.finishSuccess(value)
    const errors = (this.errors ??= [])
    errors.push(value)
    if (this.ctx.attempt < this.maxAttempt && !config.signal.aborted) {
      const log = config.scope.run.log
      if (logsAt(log, 'debug')) log.debug(`[${config.stats.name}] attempt ${this.ctx.attempt} failed, retrying: ${messageOf(value)}`)
      config.stats.retried++
      this.ctx.attempt++
      return this.attempt()
    }
    this.finishFailure(value, true)
  }

  private finishSuccess(value: unknown): void {
    const item = this.item
    this.busy = false
    this.item = undefined
    this.owner.settled(this, item, true, value, null)
  }

  private finishFailure(error: unknown, recorded: boolean): void {
    const errors = recorded ? this.errors! : [...(this.errors ?? []), error]
    const item = this.item
    this.busy = false
    this.errors = null
    this.item = undefined
    this.owner.settled(this, item, false, undefined, errors)
  }

  /** The stage stopped: abandon the current item (its late result will be discarded). */
  retire(): void {
    this.retired = true
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    this.attemptAc?.abort(this.config.signal.reason)
    this.busy = false
  }

  /** Runs `dispose` once, if this worker ever took an item. */
  dispose(): Promise<void> | undefined {
    if (this.disposed || !this.used) return undefined
    this.disposed = true
    const { config } = this
    const waits: Promise<unknown>[] = []
    if (config.dispose !== undefined && this.broken === undefined && this.initState !== 1) {
      const disposing = callDispose(config, this.ctx, this.index)
      if (disposing !== undefined) waits.push(disposing)
    }
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => {})
  }

}

/** The runner for one worker of a stage: the handler's own (a batching worker thread), else a Worker. */
export function createWorker(config: WorkerConfig, handler: unknown, index: number, owner: WorkerOwner, handlerIndex = 0): Runner {
  return hasRunner(handler) ? handler[kRunner](config, owner, index, handlerIndex) : new Worker(config, handler, index, owner, handlerIndex)
}

/**
 * Runs a worker's `init` once and reports its result to `done` or `failed`, whether it
 * returns, throws, or settles a promise (synchronous results are reported synchronously).
 */
export function callInit(
  init: (ctx: StageContext<unknown>) => unknown,
  ctx: StageContext<unknown>,
  done: (seeded: unknown) => unknown,
  failed: (error: unknown) => unknown,
): void {
  let seeded: unknown
  try {
    seeded = init(ctx)
  } catch (error) {
    failed(error)
    return
  }
  if (!whenSettled(seeded, done, failed)) done(seeded)
}

/**
 * `init` finished after its worker's stage stopped: the state is seeded, and if the
 * worker has been disposed meanwhile, what `init` opened still gets its `dispose`
 * (without holding up the stop).
 */
export function settleLateInit(config: WorkerConfig, ctx: StageContext<unknown>, index: number, value: unknown, disposed: boolean): void {
  try {
    WorkerState.seed(ctx.state, value)
  } catch {
    // what init returned can't be read; dispose still gets the state it has
  }
  if (disposed && config.dispose !== undefined) void callDispose(config, ctx, index)
}

/**
 * Calls the stage's `dispose` for one worker. A failure, thrown or rejected, is
 * logged and never thrown; returns what to wait for when `dispose` is async.
 */
export function callDispose(config: WorkerConfig, ctx: StageContext<unknown>, index: number): Promise<unknown> | undefined {
  const failed = (error: unknown): void => config.scope.run.log.error(`[${config.stats.name}] dispose failed for worker ${index}: ${messageOf(error)}`)
  try {
    const result = config.dispose!(ctx.state, ctx)
    if (isThenable(result)) {
      // A stop (the stage's signal aborted) waits for it only briefly, a completion at most the grace (see exec/cleanup.ts).
      const disposing = Promise.resolve(result).catch(failed)
      return waitForCleanup(disposing, config.scope.run.log, `[${config.stats.name}] dispose of worker ${index}`, config.signal.aborted)
    }
  } catch (error) {
    failed(error)
  }
  return undefined
}

/** Disposes every worker; undefined when all of that was synchronous. */
export function disposeAll(workers: Iterable<Runner>): Promise<void> | undefined {
  let waits: Promise<void>[] | undefined
  for (const worker of workers) {
    const waiting = worker.dispose()
    if (waiting) (waits ??= []).push(waiting)
  }
  return waits === undefined ? undefined : Promise.all(waits).then(() => {})
}
