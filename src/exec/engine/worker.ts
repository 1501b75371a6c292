import { WorkerState } from '../context.js'
import { TimeoutError } from '../../result/stage-error.js'
import { whenSettled } from './settle.js'
import { Context, FAILED_VALUE, KILLED_VALUE, UNTIMED, readValue, sampleWeight, timed, unwrapped } from './worker-life.js'
import { RunnerLife, beginAttempts, errorsWith, retryAfter, type LifeClient } from './runner-life.js'
import { hasRunner, kRunner } from './spawn.js'
import type { HandlerFn, Runner, WorkerConfig, WorkerOwner } from './runner.js'
import { TICKET_IDLE, TICKET_RUNNING, admitParked, admitted, ticketAbandoned, ticketEnded, type AdmissionTicket } from './limiter.js'
import { signalAborted } from './aborted.js'

/**
 * One worker: runs one item at a time through its handler, with attempts in
 * place, a per-attempt timeout, and init/dispose around its life. Without a
 * timeout it allocates nothing per item but the handler's own promise: the
 * context object is reused and the promise callbacks are bound once.
 */
export class Worker implements Runner, AdmissionTicket, LifeClient<Worker> {
  readonly ctx: Context
  private readonly fn: HandlerFn
  item: unknown = undefined
  /** The item's position in the stage's input (for ordered output). */
  seq = 0
  busy = false
  /** init/dispose and retirement (see RunnerLife). */
  private readonly life: RunnerLife<Worker>
  /** The current item's attempts (see AttemptRecord); `ctx.attempt` follows `attempt`. */
  attempt = 1
  maxAttempt = 1
  errors: unknown[] | null = null
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
  /** This worker is its own admission ticket (see Limiter): its state and when it was admitted. */
  admission = TICKET_IDLE
  admittedAt = UNTIMED

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
    this.life = new RunnerLife(config, this.ctx, index, this)
  }

  /** Set when `init` failed: this worker takes no more items. */
  get broken(): unknown {
    return this.life.initError
  }

  /** Runs `item`, whose earlier attempts (from upstream of a `retry`) failed with `priorErrors`. */
  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra = this.config.retries, index = seq): void {
    const life = this.life
    // A runner is retired when its stage stops; one that was disposed has no init/dispose pair left to run.
    if (life.retired || life.disposed) return
    this.busy = true
    life.used = true
    this.item = item
    this.seq = seq
    beginAttempts(this, priorErrors, maxExtra)
    this.ctx.attempt = this.attempt
    this.ctx.index = index
    if (this.config.init === undefined || life.ready(this)) this.startAttempt()
  }

  startWaiting(): void {
    this.startAttempt()
  }

  failWaiting(_job: Worker, error: unknown): void {
    this.finishFailure(errorsWith(this, error))
  }

  /** The limiter admits the parked attempt. */
  admit(): void {
    if (admitParked(this.config.limiter, this, this.life.retired || signalAborted(this.config.signal))) this.startAttempt()
  }

  /** Starts an attempt, once the stage's limiter (if any) admits it (see Limiter). */
  private startAttempt(): void {
    // Read per attempt: a stage without limits gets a pause-only limiter on its first `retryAfterMs` (see pauseStage).
    if (this.config.limiter !== undefined && !this.admittedNow()) return
    // A clock read costs about as much as a cheap handler, so past a worker's first
    // attempts only one in TIMING_SAMPLE is timed, and counts for TIMING_SAMPLE.
    if (this.timing && timed(++this.attempts)) this.startedAt = performance.now()
    if (this.config.timeout > 0) return this.attemptWithTimeout()
    let result: unknown
    try {
      result = this.fn(this.item, this.ctx)
    } catch (error) {
      return this.errorArrived(error)
    }
    // A value returned at once is taken by a direct call, not through the bound callback.
    if (!whenSettled(result, this.onValue, this.onError)) this.valueArrived(result)
  }

  /** Whether the stage's limiter lets this attempt start now (else it waits, parked, for `admit`). */
  private admittedNow(): boolean {
    return this.admission === TICKET_RUNNING || admitted(this.config.limiter!, this)
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
      if (token !== this.token || this.life.retired) return
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
    if (this.life.retired) return this.late()
    this.late()
    this.expire(ac, ms)
  }

  private valueArrived(value: unknown): void {
    if (this.life.retired) return this.late()
    const read = readValue(value, this.config.scope.run)
    // A kill stops the run, and the stage retires this worker.
    if (read !== KILLED_VALUE) this.settleAttempt(read !== FAILED_VALUE, unwrapped.value)
  }

  private errorArrived(error: unknown): void {
    if (this.life.retired) return this.late()
    this.settleAttempt(false, error)
  }

  private late(): void {
    this.config.stats.discarded++
  }

  private settleAttempt(ok: boolean, value: unknown): void {
    // (The rarer steps are methods of their own: see whenSettled on V8's inlining budget.)
    if (this.timer !== undefined) this.clearTimer()
    if (this.config.limiter !== undefined) ticketEnded(this.config.limiter, this, ok, value)
    if (this.startedAt >= 0) this.addBusyTime()
    if (ok) return this.finishSuccess(value)
    this.attemptFailed(value)
  }

  private clearTimer(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.token++
    this.attemptAc = undefined
  }

  private addBusyTime(): void {
    this.config.stats.busyMs += (performance.now() - this.startedAt) * sampleWeight(this.attempts)
    this.startedAt = UNTIMED
  }

  private attemptFailed(error: unknown): void {
    if (retryAfter(this.config, this, error, true)) {
      this.ctx.attempt = this.attempt
      return this.startAttempt()
    }
    this.finishFailure(this.errors!)
  }

  private finishSuccess(value: unknown): void {
    const item = this.item
    this.busy = false
    this.item = undefined
    this.owner.settled(this, item, true, value, null)
  }

  private finishFailure(errors: unknown[]): void {
    const item = this.item
    this.busy = false
    this.errors = null
    this.item = undefined
    this.owner.settled(this, item, false, undefined, errors)
  }

  /** The stage stopped: abandon the current item (its late result will be discarded). */
  retire(): void {
    this.life.retire()
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    this.attemptAc?.abort(this.config.signal.reason)
    ticketAbandoned(this.config.limiter, this)
    this.busy = false
  }

  /** Runs `dispose` once, if this worker ever took an item. */
  dispose(): Promise<void> | undefined {
    return this.life.dispose()
  }
}

/** The runner for one worker of a stage: the handler's own (a batching worker thread), else a Worker. */
export function createWorker(config: WorkerConfig, handler: unknown, index: number, owner: WorkerOwner, handlerIndex = 0): Runner {
  return hasRunner(handler) ? handler[kRunner](config, owner, index, handlerIndex) : new Worker(config, handler, index, owner, handlerIndex)
}
