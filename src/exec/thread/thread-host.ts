import { messageOf } from '../../result/stage-error.js'
import { Queue } from '../engine/queue.js'
import { LEFT, THROWN, fromWire, type Reply, type SalvageMessage } from './thread-protocol.js'
import { BatchSizer, batchOf, sendable } from './thread-batch.js'
import { OK, ThreadError, threadCounters, type HostOptions, type Job } from './thread-job.js'
import { ThreadLifecycle, type LifecycleOwner } from './thread-lifecycle.js'
import { Deadlines, type DeadlineOwner } from './thread-timeouts.js'

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

interface Sent {
  readonly job: Job
  readonly id: number
}

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
  close(): Promise<void> {
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
      queueMicrotask(this.flush)
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
      while (jobs.length < size && pending.length > 0) {
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
    const call = this.thread.run(batch, transfers)
    // The batch could not be cloned, so it never left.
    if (call === undefined) {
      const again = sendable(jobs, this.thread.sendError, withTransfers, this.options)
      return again === undefined ? undefined : this.send(again, false)
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
    this.deadlines.watch()
  }

  // ---- outcomes ------------------------------------------------------------------

  /** Hands a job its outcome, unless it has been given up or sent again since. */
  private deliver(job: Job, id: number, kind: number, value: unknown): void {
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
    const done: Sent[] = []
    for (let i = 0; i < count; i++) done.push(this.sent.shift())
    for (const { job, id } of done) {
      if (!job.live || job.id !== id) continue
      job.id = 0
      job.client.jobDone(job, THROWN, cause)
    }
    if (this.pending.length > 0) this.schedule()
    this.updateRef()
  }

  /** The thread is exiting mid-batch and sent what the batch's finished items gave: deliver those (see `lost`). */
  salvaged(message: SalvageMessage): void {
    const first = message.__pipevineSalvage
    const { values, failures } = message
    const end = first + values.length
    // Taken first: an outcome handed over may submit jobs, and those must not shift the entries read here.
    const salvaged: Sent[] = []
    for (let i = 0; i < this.sent.length; i++) {
      const entry = this.sent.at(i)
      if (entry.id >= first && entry.id < end) salvaged.push(entry)
    }
    let f = 0
    for (const { job, id } of salvaged) {
      const index = id - first
      while (failures !== undefined && f < failures.length && failures[f]![0] < index) f++
      const failure = failures !== undefined && f < failures.length && failures[f]![0] === index ? failures[f] : undefined
      this.deliver(job, id, failure === undefined ? OK : failure[1], failure === undefined ? values[index] : failure[2])
    }
  }

  runningJob(id: number): Job | undefined {
    const sent = this.sent
    for (let i = 0; i < sent.length; i++) {
      const entry = sent.at(i)
      if (entry.id === id) return entry.job.live && entry.job.id === id ? entry.job : undefined
      if (entry.id > id) return undefined
    }
    return undefined
  }

  // ---- losing the thread -----------------------------------------------------------

  /**
   * The thread is gone with items in it. Those it had started and whose outcome
   * has not arrived are returned, to fail: the item that was running, and, only
   * when the thread could not send them first (terminated, or a hard crash), the
   * batch-mates that had finished before it (running them again could repeat
   * their effects). Those it had not started go back to the front of the queue
   * for the next thread.
   */
  lost(): Job[] {
    const started = Math.abs(this.thread.runningId())
    this.thread.forget()
    this.inFlight = 0
    this.deadlines.reset()
    const failed: Job[] = []
    const again = new Queue<Job>(this.sent.length + this.pending.length)
    while (this.sent.length > 0) {
      const { job, id } = this.sent.shift()
      if (!job.live || job.id !== id) continue
      if (id <= started) failed.push(job)
      else {
        job.id = 0
        again.push(job)
      }
    }
    while (this.pending.length > 0) again.push(this.pending.shift())
    this.pending = again
    return failed
  }

  fail(jobs: Job[], error: ThreadError): void {
    for (const job of jobs) {
      job.id = 0
      if (job.live) job.client.jobDone(job, THROWN, error)
    }
  }

  failAll(error: ThreadError): void {
    const jobs: Job[] = []
    while (this.sent.length > 0) jobs.push(this.sent.shift().job)
    while (this.pending.length > 0) jobs.push(this.pending.shift())
    for (const job of jobs) if (job.live) job.client.jobDone(job, THROWN, error)
  }

  private updateRef(): void {
    this.thread.ref(this.inFlight > 0 || this.pending.length > 0)
  }
}
