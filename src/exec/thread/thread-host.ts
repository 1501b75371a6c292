import { messageOf } from '../../result/stage-error.js'
import { Queue } from '../engine/queue.js'
import { LEFT, THROWN, fromWire, type Reply, type SalvageMessage } from './thread-protocol.js'
import { BatchSizer, batchOf, failJobs, salvage, sendable, sentJob, splitLost, type Sent } from './thread-batch.js'
import { OK, ThreadError, threadCounters, type HostOptions, type Job, type JobEnv } from './thread-job.js'
import { ThreadLifecycle, type LifecycleOwner } from './thread-lifecycle.js'
import { Deadlines, shortestTimeout, type DeadlineOwner } from './thread-timeouts.js'

export { MAX_LOAD_ATTEMPTS } from './thread-lifecycle.js'
export { threadCounters, threadTunables } from './thread-job.js'

/*
 * One worker thread, seen from the main thread: jobs are submitted here and go
 * to the thread in batches through comlink. The thread's life (start, failed
 * loads, crashes, close) is in thread-lifecycle.ts, per-item timeouts in
 * thread-timeouts.ts; this file decides what travels in which batch, and hands
 * each job its outcome.
 *
 * - Batching. Submitted jobs wait in `pending` until a microtask flush, so the
 *   jobs submitted in one tick travel in one message, and a lone job submitted
 *   to an idle thread travels alone at once. While the thread works, jobs gather
 *   until they make a whole batch. A batch holds about `batchMs` of work (the
 *   thread reports how long each batch took), at most `maxBatch` items, and at
 *   most two batches are in the thread at once, so it rarely waits for the next.
 * - Loss. When the thread is gone with items in it (see `lost`), the item that
 *   was running fails, and those it had not started go to the next thread; a
 *   thread exiting mid-batch first sends the results of the batch's finished
 *   items (`salvaged`). The first batches go right behind `init`; if the module
 *   does not load, none of them ran, and they go back to the queue.
 */

const MAX_BATCHES_IN_FLIGHT = 2

/** Flushes go on a settled promise, not `queueMicrotask` (an AsyncResource per call, whose classes a GC between runs drops, with the submit path's optimised code). */
const RESOLVED = Promise.resolve()

export class ThreadHost implements LifecycleOwner, DeadlineOwner {
  private readonly thread: ThreadLifecycle
  private readonly deadlines: Deadlines
  private pending = new Queue<Job>(8)
  private readonly sent = new Queue<Sent>(8)
  private inFlight = 0
  private nextId = 1
  private flushQueued = false
  private readonly sizer: BatchSizer
  private cancelReason: unknown = undefined
  /** Shared threads: the env the thread has, and for which thread (`generation`); see `send`. */
  private sentEnv: JobEnv | undefined
  private envGeneration = -1
  /** Whoever awaits `warm()` while the module loads (the process stays alive for them). */
  private warming: (() => void)[] | undefined

  constructor(private readonly options: HostOptions) {
    this.thread = new ThreadLifecycle(options, this)
    this.deadlines = new Deadlines(options, this.thread, this)
    this.sizer = new BatchSizer(options.batchMs, options.maxBatch)
  }

  /** Set when the thread can't be started: every item fails with it. */
  get dead(): ThreadError | undefined {
    return this.thread.dead
  }

  /** How many items this thread should hold at once (queued here or in the thread): two batches. */
  limit(): number {
    return 2 * this.sizer.size
  }

  get inThread(): number {
    return this.sent.length
  }

  /** Items held, here or in the thread (a pool gives new items to its least loaded thread). */
  get held(): number {
    return this.pending.length + this.sent.length
  }

  /** Starts the thread ahead of the first item; settles once its module has loaded or the thread gave up (see `dead`). */
  warm(): Promise<void> {
    if (this.thread.loaded || this.dead !== undefined || this.thread.closed) return Promise.resolve()
    return new Promise((resolve) => {
      ;(this.warming ??= []).push(resolve)
      if (this.thread.idle) this.thread.start()
      this.updateRef()
    })
  }

  /** The module loaded, or the thread gave up: release whoever awaits `warm()`. */
  loadSettled(): void {
    for (const resolve of this.warming?.splice(0) ?? []) resolve()
    this.warming = undefined
    this.updateRef()
  }

  submit(job: Job): void {
    job.id = 0
    const thread = this.thread
    if (thread.dead !== undefined) return job.client.jobDone(job, THROWN, thread.dead)
    if (thread.closed) return
    this.pending.push(job)
    if (thread.idle) thread.start()
    else this.schedule()
    this.updateRef()
  }

  /** Gives up `jobs` (their results will be discarded) and tells the thread to abort those it holds. */
  cancel(jobs: Iterable<Job>, reason: unknown): void {
    this.cancelReason = reason
    let ids: number[] | undefined
    for (const job of jobs) {
      job.live = false
      if (job.id !== 0) (ids ??= []).push(job.id)
    }
    if (ids !== undefined) this.thread.abort(ids, reason)
  }

  /**
   * Ends the thread: an item running in it gets its signal aborted and a moment to stop, then it is
   * terminated. A thread running no item (still starting, or between items) is terminated at once.
   */
  close(reason?: unknown): Promise<void> {
    this.cancelReason ??= reason
    this.deadlines.stop()
    for (let i = 0; i < this.pending.length; i++) this.pending.at(i).live = false
    this.pending.clear()
    let ids: number[] | undefined
    if (this.inFlight > 0) {
      ids = []
      for (let i = 0; i < this.sent.length; i++) ids.push(this.sent.at(i).id)
    }
    return this.thread.close(ids, this.cancelReason ?? new Error('the stage stopped'))
  }

  /** Calls `fn` with each job it holds and the id it was sent under (0: not sent yet; see `Job.id` for one given up since). */
  eachJob(fn: (job: Job, id: number) => void): void {
    for (let i = 0; i < this.pending.length; i++) fn(this.pending.at(i), 0)
    for (let i = 0; i < this.sent.length; i++) fn(this.sent.at(i).job, this.sent.at(i).id)
  }

  // ---- sending -------------------------------------------------------------------

  /**
   * Flushes at the end of this tick, if there is reason to: an idle thread gets
   * what is pending (a lone item goes at once); a busy one only a whole batch,
   * so items submitted one by one while it works gather into the next batch.
   */
  private schedule(): void {
    if (this.flushQueued || !this.thread.ready) return
    if (this.inFlight === 0 || (this.inFlight < MAX_BATCHES_IN_FLIGHT && this.pending.length >= this.sizer.size)) {
      this.flushQueued = true
      void RESOLVED.then(this.flush)
    }
  }

  readonly flush = (): void => {
    this.flushQueued = false
    const thread = this.thread
    if (!thread.ready || thread.closed) return
    const pending = this.pending
    while (pending.length > 0 && this.inFlight < MAX_BATCHES_IN_FLIGHT) {
      if (this.inFlight > 0 && pending.length < this.sizer.size) break
      const jobs: Job[] = []
      const size = this.sizer.size
      const shared = this.options.shared === true
      while (jobs.length < size && pending.length > 0) {
        // A shared thread's batch holds the items of one env (one run) at a time.
        if (shared && jobs.length > 0 && pending.at(0).env !== jobs[0]!.env) break
        const job = pending.shift()
        if (job.live) jobs.push(job)
      }
      if (jobs.length === 0) break
      this.send(jobs, true)
      if (!thread.ready) break
    }
    this.updateRef()
  }

  private send(jobs: Job[], withTransfers: boolean): void {
    const first = this.nextId
    this.nextId += jobs.length
    const { batch, transfers } = batchOf(jobs, first, withTransfers, this.options.transfer)
    const generation = this.thread.generation
    const env = this.options.shared === true ? jobs[0]!.env : undefined
    const newEnv = env !== undefined && (env !== this.sentEnv || generation !== this.envGeneration)
    const call = this.thread.run(newEnv ? { ...batch, env } : batch, transfers)
    // The batch could not be cloned, so it never left.
    if (call === undefined) {
      const again = sendable(jobs, this.thread.sendError, withTransfers, this.options)
      return again === undefined ? undefined : this.send(again, false)
    }
    if (newEnv) {
      this.sentEnv = env
      this.envGeneration = generation
    }
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!
      job.id = first + i
      this.sent.push({ job, id: first + i })
    }
    this.inFlight++
    threadCounters.batches++
    threadCounters.items += jobs.length
    call.then(
      (reply) => this.onReply(generation, jobs.length, reply),
      (error) => this.onCallError(generation, jobs.length, error),
    )
    this.deadlines.watch(this.options.shared === true ? shortestTimeout(jobs) : this.options.timeout)
  }

  // ---- outcomes ------------------------------------------------------------------

  /** Hands a job its outcome, unless it has been given up or sent again since. */
  private readonly deliver = (job: Job, id: number, kind: number, value: unknown): void => {
    if (!job.live || job.id !== id) {
      if (this.options.stats !== undefined) this.options.stats.discarded++
      return
    }
    job.id = 0
    job.client.jobDone(job, kind, kind === THROWN || kind === LEFT ? fromWire(value) : value)
  }

  private onReply(generation: number, count: number, reply: Reply): void {
    if (generation !== this.thread.generation) return
    this.inFlight--
    this.thread.replied()
    const { stats, timing } = this.options
    if (stats !== undefined && timing) stats.busyMs += reply.busyMs
    this.sizer.sample(reply.busyMs, count)
    const done: Sent[] = new Array(count)
    for (let i = 0; i < count; i++) done[i] = this.sent.shift()
    if (this.sent.length === 0) this.deadlines.stop()
    const failures = reply.failures
    let f = 0
    for (let i = 0; i < count; i++) {
      const { job, id } = done[i]!
      if (failures !== undefined && f < failures.length && failures[f]![0] === i) {
        const [, kind, value] = failures[f++]!
        this.deliver(job, id, kind, value)
      } else this.deliver(job, id, OK, reply.values[i])
    }
    if (this.pending.length > 0) this.schedule()
    this.updateRef()
  }

  private onCallError(generation: number, count: number, error: unknown): void {
    if (generation !== this.thread.generation) return
    this.inFlight--
    const cause = new ThreadError('crashed', `stage "${this.options.stage}": worker thread ${this.options.index} could not return results: ${messageOf(error)}`, { cause: error })
    const done: Job[] = []
    for (let i = 0; i < count; i++) {
      const { job, id } = this.sent.shift()
      if (job.live && job.id === id) done.push(job)
    }
    failJobs(done, cause)
    if (this.pending.length > 0) this.schedule()
    this.updateRef()
  }

  /** The thread is exiting mid-batch and sent what the batch's finished items gave: deliver those (see `lost`). */
  salvaged(message: SalvageMessage): void {
    salvage(this.sent, message, this.deliver)
  }

  runningJob(id: number): Job | undefined {
    return sentJob(this.sent, id)
  }

  // ---- losing the thread -----------------------------------------------------------

  /** The thread is gone with items in it: see `splitLost` (what it had not started is queued again). */
  lost(): Job[] {
    const started = Math.abs(this.thread.runningId())
    this.thread.forget()
    this.inFlight = 0
    this.deadlines.reset()
    const { failed, again } = splitLost(this.sent, this.pending, started)
    this.pending = again
    return failed
  }

  fail(jobs: Job[], error: ThreadError): void {
    failJobs(jobs, error)
  }

  failAll(error: ThreadError): void {
    const jobs: Job[] = []
    while (this.sent.length > 0) jobs.push(this.sent.shift().job)
    while (this.pending.length > 0) jobs.push(this.pending.shift())
    failJobs(jobs, error)
  }

  private updateRef(): void {
    const busy = this.inFlight > 0 || this.pending.length > 0
    this.thread.ref(busy || this.warming !== undefined)
    if (!busy) this.options.changed?.()
  }
}

