import type { Runner, WorkerConfig, WorkerOwner } from '../engine/runner.js'
import { kRunner, type RunnerFactory } from '../engine/spawn.js'
import { logsAt } from '../logger.js'
import { messageOf } from '../../result/describe.js'
import { errorFromWire, type JobResult } from './protocol.js'
import { RemoteSession, type JobOwner, type PendingJob, type RemoteSettings } from './remote-session.js'

/**
 * One slot of a `remote` stage: one item at a time, as a job in Redis. Attempts
 * in place (`retries`) are pipevine's, one BullMQ job each, so that a downstream
 * `retry` and `ctx.attempt` count them as `pool` does; the timeout travels with
 * the job and is kept where the handler runs.
 */
export class RemoteRunner implements Runner, JobOwner {
  seq = 0
  busy = false
  readonly broken: unknown = undefined
  private item: unknown = undefined
  /** The item as sent (encoded once for all its attempts). */
  private encoded: unknown = undefined
  private errors: unknown[] | null = null
  /** The item's key (`ctx.key`): the same for all its attempts here and every re-execution of them. */
  private key = ''
  private attempt = 1
  private maxAttempt = 1
  /** The item's position in the stage's input (`ctx.index` where it is served). */
  private itemIndex = 0
  private job: PendingJob | undefined
  private retired = false
  private disposed = false

  constructor(
    private readonly session: RemoteSession,
    private readonly config: WorkerConfig,
    private readonly owner: WorkerOwner,
    readonly index: number,
    readonly handlerIndex: number,
  ) {
    session.acquire()
  }

  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra = this.config.retries, index = seq): void {
    if (this.retired || this.disposed) return
    this.itemIndex = index
    this.busy = true
    this.item = item
    this.seq = seq
    this.errors = priorErrors === null ? null : priorErrors.slice()
    this.attempt = priorErrors === null ? 1 : priorErrors.length + 1
    this.maxAttempt = this.attempt + maxExtra
    this.key = this.session.nextKey()
    try {
      this.encoded = this.session.codec.encode(item)
    } catch (error) {
      // It would not cross on a second attempt either.
      return this.finish(false, error)
    }
    this.send()
  }

  private send(): void {
    const { session, config } = this
    this.job = session.submit(this, { i: this.encoded, a: this.attempt, k: this.key, t: config.timeout, x: this.itemIndex })
  }

  jobDone(job: PendingJob, ok: boolean, value: unknown): void {
    if (job !== this.job) return
    this.job = undefined
    if (this.retired) return void this.config.stats.discarded++
    if (ok) return this.arrived(value as JobResult)
    this.failedAttempt(value)
  }

  private arrived(result: JobResult): void {
    if ('x' in result) return this.config.scope.run.kill(errorFromWire(result.x, this.config.stats.name))
    let value: unknown
    try {
      value = this.session.codec.decode(result.v)
    } catch (error) {
      return this.failedAttempt(error)
    }
    this.finish(true, value)
  }

  private failedAttempt(error: unknown): void {
    const { config } = this
    ;(this.errors ??= []).push(error)
    if (this.attempt < this.maxAttempt && !config.signal.aborted) {
      const log = config.scope.run.log
      if (logsAt(log, 'debug')) log.debug(`[${config.stats.name}] attempt ${this.attempt} failed, retrying: ${messageOf(error)}`)
      config.stats.retried++
      this.attempt++
      return this.send()
    }
    this.finish(false, undefined)
  }

  private finish(ok: boolean, valueOrError: unknown): void {
    const item = this.item
    const errors = ok ? null : valueOrError === undefined ? this.errors! : [...(this.errors ?? []), valueOrError]
    this.busy = false
    this.item = undefined
    this.encoded = undefined
    this.errors = null
    if (ok) this.owner.settled(this, item, true, valueOrError, null)
    else this.owner.settled(this, item, false, undefined, errors)
  }

  /** The stage stopped: its job leaves Redis, or is aborted wherever it runs. */
  retire(): void {
    this.retired = true
    this.busy = false
    if (this.job !== undefined) this.session.cancel(this.job)
    this.job = undefined
  }

  /** The last runner of the stage closes the session (after its cancelled jobs left Redis). */
  dispose(): Promise<void> | undefined {
    if (this.disposed) return undefined
    this.disposed = true
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
