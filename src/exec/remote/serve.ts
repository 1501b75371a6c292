import { QueueEvents, WaitingError, Worker, type ConnectionOptions, type Job, type WorkerOptions as BullWorkerOptions } from 'bullmq'
import type { StageContext, WorkerState } from '../context.js'
import { isKill } from '../kill.js'
import { skip } from '../skip.js'
import { silentLogger, toLogger, type Logger } from '../logger.js'
import { StageStats } from '../stats.js'
import type { StageReport } from '../../result/report.js'
import { TimeoutError } from '../../result/stage-error.js'
import { messageOf } from '../../result/describe.js'
import { eitherKind, KIND_LEFT, KIND_PLAIN } from '../../result/either-kind.js'
import { taggedJson, UnsendableError, type Codec } from './codec.js'
import { CANCEL_EVENT, ERROR_KEY, SKIPPED, cancelQueueName, errorToWire, type JobData, type JobResult } from './protocol.js'
import { READ_BLOCK_MS, closePart, redisClockId, settleWithin } from './parts.js'
import { JobContext, Slots, type RemoteContext, type Slot } from './serve-slots.js'

/**
 * Options of `serve`: the slots' set-up and the BullMQ `Worker` options
 * (`lockDuration`, `stalledInterval`, `maxStalledCount`, `prefix`, `limiter`, …),
 * which pass through.
 */
export interface ServeOptions<R = any> extends Omit<BullWorkerOptions, 'connection' | 'concurrency' | 'autorun' | 'name'> {
  /** BullMQ's connection: `{ host, port, … }` or a client instance. */
  connection: ConnectionOptions
  /** Jobs run at once in this process, each in its own slot with its own `ctx.state` (default 1). */
  concurrency?: number
  /** `ctx.env` of every job. */
  env?: R
  /** Per-slot set-up; its result seeds the slot's `ctx.state`. A failure fails that job, and the next job of the slot tries again. */
  init?: (ctx: StageContext<R>) => unknown
  /** Per-slot tear-down, at `close()`. */
  dispose?: (state: WorkerState, ctx: StageContext<R>) => unknown
  /** `ctx.stage` and the report's name (default: the queue's name). */
  name?: string
  /** How items and results are encoded: must be the pipeline side's (default {@link taggedJson}). */
  codec?: Codec
  /** `ctx.log`: `true` for the console, or a Logger (default: silent). */
  log?: boolean | Partial<Logger>
}

/** What `serve` returns: its Worker, its report, and how to stop it. */
export interface ServeHandle {
  /** The BullMQ Worker underneath (for its events). */
  readonly worker: Worker
  /** Resolves once the worker takes jobs and listens for cancellations. */
  ready(): Promise<void>
  /**
   * Stops taking jobs. Graceful (default): waits for the running jobs, then runs
   * `dispose`. With `force`: aborts the running jobs' signals and hands them back
   * to the queue at once, for another worker to run.
   */
  close(options?: { force?: boolean }): Promise<void>
  /** This process's counts: jobs processed, failed, cancelled, in flight. */
  report(): StageReport
}

const CLOSING = 'the serving worker is closing'
/** How long a cancellation for a job not running here is kept, and past how many kept ones old ones go. */
const EARLY_CANCEL_MS = 60_000
const EARLY_CANCEL_KEEP = 1_000
const cancelledHere = (): Error => new Error('cancelled by the pipeline')
/** How long a forced close waits for each step (jobs handed back, connections closed). */
const CLOSE_MS = 1_000

class Serving implements ServeHandle {
  readonly worker: Worker
  private readonly cancels: QueueEvents
  private readonly listening: Promise<void>
  private readonly stats: StageStats
  private readonly slots: Slots
  private readonly log: Logger
  private readonly codec: Codec
  private readonly active = new Map<string, AbortController>()
  /**
   * Cancellations of jobs not running here (yet): a job moved to active in Redis whose
   * `process` has not started when its cancellation arrives is aborted as it starts.
   * Ids of jobs other processes run pile up here too, so those older than EARLY_CANCEL_MS go.
   */
  private readonly early = new Map<string, number>()
  private closing: Promise<void> | undefined
  private forced = false
  /** Set while a forced close waits for its running jobs to go back to the queue. */
  private idle: (() => void) | undefined

  constructor(
    queue: string,
    private readonly handler: (item: any, ctx: RemoteContext<any>) => unknown,
    private readonly options: ServeOptions,
  ) {
    const { connection, concurrency = 1, env, init, dispose, name, codec, log, ...workerOptions } = options
    this.stats = new StageStats(name ?? queue)
    this.stats.startedAt = performance.now()
    this.slots = new Slots(concurrency)
    this.log = log === undefined ? silentLogger : toLogger(log)
    this.codec = codec ?? taggedJson
    this.worker = new Worker(queue, (job: Job, token?: string) => this.process(job, token), { ...workerOptions, connection, concurrency })
    this.worker.on('error', (error) => this.log.warn(`[${this.stats.name}] ${messageOf(error)}`))
    this.cancels = new QueueEvents(cancelQueueName(queue), { connection, prefix: workerOptions.prefix, blockingTimeout: READ_BLOCK_MS, autorun: false })
    this.cancels.on('error', (error) => this.log.warn(`[${this.stats.name}] cancellations: ${messageOf(error)}`))
    this.cancels.on(CANCEL_EVENT as 'error', ((args: { ids?: string }) => this.cancel(args.ids)) as never)
    this.listening = this.listen()
    this.listening.catch(() => {}) // reported by ready()
  }

  ready(): Promise<void> {
    return Promise.all([this.worker.waitUntilReady(), this.listening]).then(() => {})
  }

  /** Cancellations are read from Redis's clock at start on, so none published after the worker is ready is missed. */
  private async listen(): Promise<void> {
    await this.cancels.waitUntilReady()
    ;(this.cancels.opts as { lastEventId?: string }).lastEventId = await redisClockId(this.cancels)
    void this.cancels.run().catch((error) => this.log.warn(`[${this.stats.name}] cancellations: ${messageOf(error)}`))
  }

  private cancel(ids: string | undefined): void {
    if (typeof ids !== 'string') return
    const now = performance.now()
    for (const id of ids.split(',')) {
      const ac = this.active.get(id)
      if (ac !== undefined) ac.abort(cancelledHere())
      else this.early.set(id, now)
    }
    if (this.early.size > EARLY_CANCEL_KEEP) for (const [id, at] of this.early) if (now - at > EARLY_CANCEL_MS) this.early.delete(id)
  }

  private ctxFor(slot: Slot, signal: AbortSignal, attempt = 1, key = '', index = 0): JobContext {
    return new JobContext(this.options.env, slot.state, signal, attempt, slot.index, this.stats.name, this.log, key, index)
  }

  private async process(job: Job, token: string | undefined): Promise<JobResult> {
    const data = job.data as JobData
    const id = job.id!
    const ac = new AbortController()
    if (this.forced) ac.abort(CLOSING)
    else if (this.early.delete(id)) ac.abort(cancelledHere())
    this.active.set(id, ac)
    const slot = this.slots.take()
    const { stats } = this
    stats.inFlight++
    const started = performance.now()
    const timer = data.t > 0 ? setTimeout(() => ac.abort(new TimeoutError(stats.name, data.t)), data.t) : undefined
    try {
      const ctx = this.ctxFor(slot, ac.signal, data.a, data.k, data.x ?? 0)
      const preparing = slot.prepare(this.options.init, () => ctx)
      if (preparing !== undefined) await raceAbort(preparing, ac.signal)
      else slot.initialized ||= this.options.init === undefined
      let item: unknown
      try {
        item = this.codec.decode(data.i)
      } catch (error) {
        throw error instanceof UnsendableError ? error : new UnsendableError('$', `an item the codec could not decode (${messageOf(error)})`)
      }
      const value = await raceAbort(this.handler(item, ctx), ac.signal)
      const result = this.resultOf(value)
      if ('s' in result) stats.skipped++
      else stats.processed++
      return result
    } catch (error) {
      if (ac.signal.aborted && ac.signal.reason === CLOSING && token !== undefined) {
        // A forced close: back to the queue, for another worker (not a failure of the item).
        await job.moveToWait(token).catch(() => {}) // else its lock expires and the stalled check hands it on
        throw new WaitingError()
      }
      if (ac.signal.aborted && !(ac.signal.reason instanceof TimeoutError)) stats.cancelled++
      else stats.failed++
      // The whole error travels as the job's last progress; BullMQ's failedReason holds only a message.
      await job.updateProgress({ [ERROR_KEY]: errorToWire(error) }).catch(() => {})
      throw error instanceof Error ? error : new Error(messageOf(error))
    } finally {
      if (timer !== undefined) clearTimeout(timer)
      stats.inFlight--
      stats.busyMs += performance.now() - started
      this.active.delete(id)
      this.slots.give(slot)
      if (this.active.size === 0) this.idle?.()
    }
  }

  /** A handler's value as a job's return value: a `Left` throws (the job fails), `kill()` and `skip` travel as such. */
  private resultOf(value: unknown): JobResult {
    if (value === skip) return SKIPPED
    if (isKill(value)) return { x: errorToWire(value.reason) }
    const kind = eitherKind(value)
    if (kind === KIND_LEFT) throw (value as { left: unknown }).left
    const plain = kind === KIND_PLAIN ? value : (value as { right: unknown }).right
    return { v: this.codec.encode(plain) }
  }

  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force && !this.forced) {
      // Running jobs go back to the queue (see `process`), and so does any job taken before the worker stops.
      this.forced = true
      for (const ac of this.active.values()) ac.abort(CLOSING)
    }
    return (this.closing ??= (async () => {
      if (this.forced) {
        // Bounded: a job whose hand-back can't reach Redis is handed on by the stalled check instead.
        if (this.active.size > 0) await settleWithin(new Promise<void>((resolve) => (this.idle = resolve)), CLOSE_MS)
        await closePart(this.worker, CLOSE_MS)
      } else await this.worker.close()
      await closePart(this.cancels, CLOSE_MS)
      const { dispose } = this.options
      await this.slots.dispose(dispose, (slot) => this.ctxFor(slot, AbortSignal.abort(CLOSING)), this.log, this.stats.name)
      this.stats.endedAt = performance.now()
    })())
  }

  report(): StageReport {
    return this.stats.snapshot(performance.now())
  }
}

/** Settles as `work` does, or rejects with the signal's reason as soon as it aborts (a handler that ignores its signal still ends). */
function raceAbort<T>(work: T | Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    Promise.resolve(work).then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error) => (signal.removeEventListener('abort', onAbort), reject(error)),
    )
  })
}

/**
 * Runs `handler` on the jobs of `queue` that a `remote` stage sends: the same
 * Handler shape as `pool`'s (`ctx.env`, per-slot `ctx.state` with `init`/`dispose`,
 * `ctx.signal`, `ctx.attempt`, `ctx.log`), plus `ctx.key`, the item's stable key.
 * A `Left` or a throw fails the job; its error (name, message, own data) becomes
 * the pipeline's `StageError.cause`.
 *
 * @example
 * ```ts
 * import { serve } from 'pipevine/bullmq'
 * const worker = serve('pages', fetchPage, { connection: { host: 'redis', port: 6379 }, concurrency: 8 })
 * process.on('SIGTERM', () => void worker.close())
 * ```
 */
export function serve<A, B, R = any>(queue: string, handler: (item: A, ctx: RemoteContext<R>) => B, options: ServeOptions<R>): ServeHandle {
  return new Serving(queue, handler, options)
}
