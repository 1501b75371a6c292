import type { Runner, WorkerConfig, WorkerOwner } from '../engine/runner.js'
import { kRunner, type RunnerFactory } from '../engine/spawn.js'
import { admitParked, admitted, ticketAbandoned, ticketEnded } from '../engine/limiter.js'
import { signalAborted } from '../engine/aborted.js'
import { AttemptTicket, RunnerLife, beginAttempts, errorsWith, retryAfter, type LifeClient } from '../engine/runner-life.js'
import { Context } from '../engine/worker-life.js'
import { WorkerState } from '../context.js'
import { skip } from '../skip.js'
import { errorFromWire, type JobResult } from './protocol.js'
import { RemoteSession, type JobOwner, type PendingJob, type RemoteSettings } from './remote-session.js'

/**
 * One slot of a `remote` stage: one item at a time, as a job in Redis. It runs on
 * the runner core as `pool`'s workers do: attempts in place (`retries`) are
 * pipevine's, one BullMQ job each, counted and logged by the attempt core (so a
 * downstream `retry` and `ctx.attempt` count them as `pool` does), and every
 * attempt is admitted by the stage's limiter first and reported to it after (the
 * runner is its own ticket). The timeout travels with the job and is kept where
 * the handler runs.
 *
 * Its life is a RunnerLife without `init`/`dispose` (those run where the handler
 * is served): `retire` and a single `dispose`, which lets go of its share of the
 * session. Every runner holds a share from its creation, so each counts as used.
 */
export class RemoteRunner extends AttemptTicket implements Runner, JobOwner, LifeClient<RemoteRunner> {
  seq = 0
  busy = false
  private item: unknown = undefined
  /** The item as sent (encoded once for all its attempts). */
  private encoded: unknown = undefined
  /** The item's key (`ctx.key`): the same for all its attempts here and every re-execution of them. */
  private key = ''
  /** The item's position in the stage's input (`ctx.index` where it is served). */
  private itemIndex = 0
  private job: PendingJob | undefined
  private readonly life: RunnerLife<RemoteRunner>

  constructor(
    private readonly session: RemoteSession,
    private readonly config: WorkerConfig,
    private readonly owner: WorkerOwner,
    readonly index: number,
    readonly handlerIndex: number,
  ) {
    super()
    const { scope, stats, signal } = config
    this.life = new RunnerLife(config, new Context(scope.env, new WorkerState(), signal, 1, index, stats.name, scope.run.log), index, this)
    this.life.used = true
    session.acquire()
  }

  get broken(): unknown {
    return this.life.initError
  }

  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra = this.config.retries, index = seq): void {
    if (this.life.retired || this.life.disposed) return
    this.itemIndex = index
    this.busy = true
    this.item = item
    this.seq = seq
    beginAttempts(this, priorErrors, maxExtra)
    this.key = this.session.nextKey()
    try {
      this.encoded = this.session.codec.encode(item)
    } catch (error) {
      // It would not cross on a second attempt either.
      return this.finish(false, errorsWith(this, error))
    }
    this.submit()
  }

  /** Sends an attempt once the stage's limiter admits it. */
  private submit(): void {
    if (admitted(this.config.limiter, this)) this.send()
  }

  admit(): void {
    if (admitParked(this.config.limiter, this, this.life.retired || signalAborted(this.config.signal))) this.send()
  }

  private send(): void {
    const { session, config } = this
    this.job = session.submit(this, { i: this.encoded, a: this.attempt, k: this.key, t: config.timeout, x: this.itemIndex })
  }

  jobDone(job: PendingJob, ok: boolean, value: unknown): void {
    if (job !== this.job) return
    this.job = undefined
    if (this.life.retired) return void this.config.stats.discarded++
    if (ok) return this.arrived(value as JobResult)
    this.failedAttempt(value)
  }

  private arrived(result: JobResult): void {
    // A kill ends the run: the attempt is given up when the stage retires (as a thread runner's).
    if ('x' in result) return this.config.scope.run.kill(errorFromWire(result.x, this.config.stats.name))
    let value: unknown = skip
    if (!('s' in result)) {
      try {
        value = this.session.codec.decode(result.v)
      } catch (error) {
        return this.failedAttempt(error)
      }
    }
    ticketEnded(this.config.limiter, this, true, value)
    this.finish(true, value)
  }

  private failedAttempt(error: unknown): void {
    ticketEnded(this.config.limiter, this, false, error)
    if (retryAfter(this.config, this, error, true)) return this.submit()
    this.finish(false, this.errors)
  }

  private finish(ok: boolean, result: unknown): void {
    const item = this.item
    this.busy = false
    this.item = undefined
    this.encoded = undefined
    this.errors = null
    if (ok) this.owner.settled(this, item, true, result, null)
    else this.owner.settled(this, item, false, undefined, result as unknown[])
  }

  /** A remote runner has no `init` on this side: nothing ever waits for one. */
  startWaiting(): void {}
  failWaiting(): void {}

  /** The stage stopped: its job leaves Redis, or is aborted wherever it runs; a held admission is withdrawn. */
  retire(): void {
    this.life.retire()
    this.busy = false
    if (this.job !== undefined) this.session.cancel(this.job)
    this.job = undefined
    ticketAbandoned(this.config.limiter, this)
  }

  /** The last runner of the stage closes the session (after its cancelled jobs left Redis). */
  dispose(): Promise<void> | undefined {
    return this.life.dispose()
  }

  released(): Promise<void> | undefined {
    return this.session.release()
  }
}

/**
 * A handler that stands for a remote queue: `pool` creates its runners with it
 * (see `kRunner`), one session per run of the stage. Called directly, it throws.
 */
export function remoteHandler(settings: RemoteSettings): RunnerFactory & (() => never) {
  const sessions = new WeakMap<WorkerConfig, RemoteSession>()
  const handler = function remote(): never {
    throw new TypeError(`the remote handler of queue "${settings.queue}" runs only inside its remote() stage`)
  }
  return Object.assign(handler, {
    [kRunner](config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner {
      let session = sessions.get(config)
      if (session === undefined) sessions.set(config, (session = new RemoteSession(settings, config)))
      return new RemoteRunner(session, config, owner, index, handlerIndex)
    },
  })
}
