import { randomBytes } from 'node:crypto'
import { Queue, QueueEvents, QueueEventsProducer, type ConnectionOptions } from 'bullmq'
import type { WorkerConfig } from '../engine/runner.js'
import { PipelineError } from '../../result/pipeline-error.js'
import { messageOf } from '../../result/describe.js'
import type { Codec } from './codec.js'
import { READ_BLOCK_MS, closePart, redisClockId, settleWithin } from './parts.js'
import { CANCEL_EVENT, ERROR_KEY, JOB_OPTIONS, cancelQueueName, errorFromWire, type JobData } from './protocol.js'

/** What a `remote` stage was given, checked. */
export interface RemoteSettings {
  readonly queue: string
  readonly connection: ConnectionOptions
  readonly prefix: string | undefined
  readonly codec: Codec
  /** How long the run waits for Redis to come back before it fails (ms). */
  readonly reconnectMs: number
  /** The BullMQ job name of every job (default: the stage's name). */
  readonly jobName: string
}

/** Who hears how a job ended. */
export interface JobOwner {
  jobDone(job: PendingJob, ok: boolean, value: unknown): void
}

/** One attempt of one item, from its add until its result arrives. */
export interface PendingJob {
  readonly id: string
  readonly data: JobData
  readonly owner: JobOwner
  /** The whole error, from the progress a failing job reports before it fails. */
  error: unknown
}

/** How long an ending waits for the run's cancelled jobs to leave Redis. */
const DRAIN_MS = 3_000
/** How long closing a connection may take before it is cut. */
const CLOSE_MS = 1_000

/**
 * One run of one `remote` stage: its Queue, its QueueEvents (results arrive as
 * events, never polled), the jobs it has in Redis, and their cancellation. Adds
 * and removals go one at a time through `chain`, so that items waiting while an
 * add is under way go together in the next `addBulk`.
 */
export class RemoteSession {
  readonly runId = randomBytes(6).toString('hex')
  private readonly queue: Queue
  private readonly events: QueueEvents
  private readonly cancels: QueueEventsProducer
  private readonly pending = new Map<string, PendingJob>()
  /** Cancelled jobs that may still be in Redis: the ending waits for them to go. */
  private readonly draining = new Set<string>()
  private drained: (() => void) | undefined
  private toAdd: PendingJob[] = []
  private toCancel: string[] = []
  private scheduled = false
  private chain: Promise<unknown>
  private jobs = 0
  private items = 0
  private users = 0
  private closing: Promise<void> | undefined
  /** Set while Redis is unreachable: the timer that fails the run when it stays so. */
  private outage: ReturnType<typeof setTimeout> | undefined

  constructor(
    readonly settings: RemoteSettings,
    private readonly config: WorkerConfig,
  ) {
    const { queue, connection, prefix } = settings
    const log = config.scope.run.log
    const warn = (error: unknown): void => log.warn(`[${config.stats.name}] ${messageOf(error)}`)
    this.queue = new Queue(queue, { connection, prefix })
    this.queue.on('error', warn)
    this.cancels = new QueueEventsProducer(cancelQueueName(queue), { connection, prefix })
    this.cancels.on('error', warn)
    this.events = new QueueEvents(queue, { connection, prefix, autorun: false, blockingTimeout: READ_BLOCK_MS })
    this.events.on('error', warn)
    this.events.on('completed', ({ jobId, returnvalue }) => this.settled(jobId, true, returnvalue))
    this.events.on('failed', ({ jobId, failedReason }) => this.settled(jobId, false, failedReason))
    this.events.on('removed', ({ jobId }) => this.gone(jobId))
    this.events.on('progress', ({ jobId, data }) => {
      const job = this.pending.get(jobId)
      if (job !== undefined && typeof data === 'object' && data !== null && ERROR_KEY in data) job.error = errorFromWire((data as Record<string, unknown>)[ERROR_KEY], config.stats.name)
    })
    const backend = this.queue.getBackend() as unknown as { on(event: string, listener: () => void): void }
    this.queue.on('ioredis:close', () => this.lost())
    backend.on('ready', () => this.back())
    this.chain = this.start()
  }

  /** Results are read from Redis's clock now on, so none added after this is missed. */
  private async start(): Promise<void> {
    ;(this.events.opts as { lastEventId?: string }).lastEventId = await redisClockId(this.queue)
    void this.events.run().catch((error) => this.config.scope.run.log.warn(`[${this.config.stats.name}] ${messageOf(error)}`))
  }

  get codec(): Codec {
    return this.settings.codec
  }

  /** A new item's key, unique to this run of the stage. */
  nextKey(): string {
    return `${this.runId}.${++this.items}`
  }

  acquire(): void {
    this.users++
  }

  /** Sends one attempt; its result comes to `owner.jobDone`. */
  submit(owner: JobOwner, data: JobData): PendingJob {
    const job: PendingJob = { id: `${this.runId}-${++this.jobs}`, data, owner, error: undefined }
    this.pending.set(job.id, job)
    this.toAdd.push(job)
    this.schedule()
    return job
  }

  /** Stops one job: removed if still waiting, aborted wherever it runs if active. */
  cancel(job: PendingJob): void {
    if (this.pending.get(job.id) !== job) return
    this.pending.delete(job.id)
    this.draining.add(job.id)
    this.toCancel.push(job.id)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    this.chain = this.chain.then(() => this.flush())
  }

  private async flush(): Promise<void> {
    this.scheduled = false
    const adds = this.toAdd
    const cancels = this.toCancel
    this.toAdd = []
    this.toCancel = []
    const live = adds.filter((job) => this.pending.get(job.id) === job)
    // A job cancelled before it was sent is never sent.
    if (live.length < adds.length) for (const job of adds) if (this.pending.get(job.id) !== job) this.gone(job.id)
    if (live.length > 0) await this.add(live)
    if (cancels.length > 0) await this.removeOrAbort(cancels.filter((id) => this.draining.has(id)))
  }

  private async add(jobs: PendingJob[]): Promise<void> {
    try {
      await this.queue.addBulk(jobs.map((job) => ({ name: this.settings.jobName, data: job.data, opts: { ...JOB_OPTIONS, jobId: job.id } })))
    } catch (error) {
      // While Redis is away, its jobs are sent again when it is back (see `back`).
      if (this.outage !== undefined) return
      for (const job of jobs) if (this.pending.get(job.id) === job) this.settledJob(job, false, error)
    }
  }

  private async removeOrAbort(ids: string[]): Promise<void> {
    if (ids.length === 0) return
    try {
      // Removed when waiting; gone already (ended, or lost with a restarted Redis); else active somewhere.
      const states = await Promise.all(ids.map(async (id) => ((await this.queue.remove(id)) === 1 ? 'removed' : await this.queue.getJobState(id))))
      const active = ids.filter((id, i) => (states[i] === 'removed' || states[i] === 'unknown' ? (this.gone(id), false) : this.draining.has(id)))
      if (active.length > 0) await this.cancels.publishEvent({ eventName: CANCEL_EVENT, ids: active.join(',') })
    } catch (error) {
      this.config.scope.run.log.warn(`[${this.config.stats.name}] could not cancel ${ids.length} job(s): ${messageOf(error)}`)
    }
  }

  private settled(jobId: string, ok: boolean, value: unknown): void {
    const job = this.pending.get(jobId)
    if (job === undefined) return this.gone(jobId)
    this.pending.delete(jobId)
    this.settledJob(job, ok, value)
  }

  private settledJob(job: PendingJob, ok: boolean, value: unknown): void {
    this.pending.delete(job.id)
    job.owner.jobDone(job, ok, ok ? value : (job.error ?? (value instanceof Error ? value : new Error(String(value)))))
  }

  private gone(jobId: string): void {
    if (this.draining.delete(jobId) && this.draining.size === 0) this.drained?.()
  }

  /** Redis went away: the run waits `reconnectMs` for it, then fails. */
  private lost(): void {
    if (this.outage !== undefined || this.closing !== undefined) return
    const { reconnectMs, queue } = this.settings
    const started = Date.now()
    this.outage = setTimeout(() => {
      const error = new PipelineError('unavailable', `remote stage "${this.config.stats.name}": Redis (queue "${queue}") unreachable for ${Date.now() - started} ms (reconnectMs: ${reconnectMs})`)
      this.config.scope.run.abort(error)
    }, reconnectMs)
  }

  /** Redis is back: send every job of the run again (one still there is not added twice: its id is taken). */
  private back(): void {
    if (this.outage === undefined) return
    clearTimeout(this.outage)
    this.outage = undefined
    if (this.closing !== undefined) return
    for (const job of this.pending.values()) this.toAdd.push(job)
    // Cancelled jobs a restarted Redis no longer has are gone: look again rather than wait for events that won't come.
    for (const id of this.draining) this.toCancel.push(id)
    this.schedule()
  }

  /** The last runner is done: wait (briefly) for cancelled jobs to leave Redis, then close the connections. */
  release(): Promise<void> {
    if (--this.users > 0) return Promise.resolve()
    return (this.closing ??= this.close())
  }

  private async close(): Promise<void> {
    const reachable = this.outage === undefined
    if (reachable) {
      await settleWithin(this.chain, DRAIN_MS)
      if (this.draining.size > 0) await settleWithin(new Promise<void>((resolve) => (this.drained = resolve)), DRAIN_MS)
    }
    if (this.outage !== undefined) clearTimeout(this.outage)
    this.outage = undefined
    await Promise.all([this.events, this.cancels, this.queue].map((part) => closePart(part, reachable ? CLOSE_MS : 0)))
  }
}
