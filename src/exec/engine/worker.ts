import { WorkerState } from '../context.js'
import { TimeoutError } from '../../result/stage-error.js'
import { whenSettled } from './settle.js'
import { Context, FAILED_VALUE, KILLED_VALUE, UNTIMED, callDispose, callInit, logInitFailed, readValue, SEEDED, seedState, retryInPlace, sampleWeight, settleLateInit, timed, unwrapped } from './worker-life.js'
import { hasRunner, kRunner } from './spawn.js'
import type { HandlerFn, Runner, WorkerConfig, WorkerOwner } from './runner.js'

const noFailure: unknown[] | null = null

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
  /** When the timed attempt started; negative when this attempt is not timed. */
  private startedAt = UNTIMED
  /** Attempts so far, for sampling which ones are timed. */
  private attempts = 0
  private readonly timing: boolean
  private token = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private attemptAc: AbortController | undefined
  // The promise callbacks, bound once per worker. Bound methods rather than arrow functions:
  // an arrow function made per worker is compiled per worker, so every run's new workers
  // would start their settling path unoptimised.
  private readonly onValue: (value: unknown) => void
  private readonly onError: (error: unknown) => void

  constructor(
    private readonly config: WorkerConfig,
    handler: unknown,
    readonly index: number,
    private readonly owner: WorkerOwner,
    /** Which of the stage's handlers this worker runs (mix). */
    readonly handlerIndex = 0,
  ) {
    const { scope, stats, signal } = config
    this.onValue = this.valueArrived.bind(this)
    this.onError = this.errorArrived.bind(this)
    this.timing = scope.run.timing
    this.ctx = new Context(scope.env, new WorkerState(), signal, 1, index, stats.name, scope.run.log)
    this.fn = handler as HandlerFn
  }

  /** Runs `item`, whose earlier attempts (from upstream of a `retry`) failed with `priorErrors`. */
  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra = this.config.retries, index = seq): void {
    // A runner is retired when its stage stops; one that was disposed has no init/dispose pair left to run.
    if (this.retired || this.disposed) return
    this.busy = true
    this.used = true
    this.item = item
    this.seq = seq
    this.errors = priorErrors === null ? noFailure : priorErrors.slice()
    const first = priorErrors === null ? 1 : priorErrors.length + 1
    this.ctx.attempt = first
    this.ctx.index = index
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
    const seeded = seedState(this.ctx, value)
    if (seeded !== SEEDED) return this.initFailed(seeded)
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
    logInitFailed(this.config, this.index, error)
    this.finishFailure(error, false)
  }

  private attempt(): void {
    const { config } = this
    // A clock read costs about as much as a cheap handler, so past a worker's first
    // attempts only one in TIMING_SAMPLE is timed, and counts for TIMING_SAMPLE.
    if (this.timing && timed(++this.attempts)) this.startedAt = performance.now()
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
    ctx.index = this.ctx.index
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

  private valueArrived(value: unknown): void {
    if (this.retired) return this.late()
    const read = readValue(value, this.config.scope.run)
    // A kill stops the run, and the stage retires this worker.
    if (read !== KILLED_VALUE) this.settleAttempt(read !== FAILED_VALUE, unwrapped.value)
  }

  private errorArrived(error: unknown): void {
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
      config.stats.busyMs += (performance.now() - this.startedAt) * sampleWeight(this.attempts)
      this.startedAt = UNTIMED
    }
    if (ok) return this.finishSuccess(value)
    const errors = (this.errors ??= [])
    errors.push(value)
    if (retryInPlace(config, this.ctx.attempt, this.maxAttempt, value)) {
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
