import { TimeoutError } from '../../result/stage-error.js'
import { THROWN, epochNow } from './thread-protocol.js'
import { ThreadError, threadTunables, type HostOptions, type Job } from './thread-job.js'
import type { ThreadLifecycle } from './thread-lifecycle.js'

/** What the deadlines need from the host that holds the items. */
export interface DeadlineOwner {
  /** Items in the thread (sent, no outcome yet). */
  readonly inThread: number
  /** The job sent under `id`, while it is still in the thread and waiting for that outcome. */
  runningJob(id: number): Job | undefined
}

/**
 * Per-item timeouts of a thread host, measured where the item runs: the thread
 * writes the id of the item it is running, and when it started, into the shared
 * progress buffer, so an item is timed from its start (never from when its batch
 * was sent). One timer serves the thread: it wakes at the running item's
 * deadline, fails that item with a TimeoutError and aborts its signal in the
 * thread; if the thread is still on that item `stuckGraceMs` later, the thread
 * is replaced (the items it had not started go to the new one).
 */
export class Deadlines {
  private timer: ReturnType<typeof setTimeout> | undefined
  /** The item that timed out and when: if the thread is still on it after the grace, it is stuck. */
  private stuck: { id: number; since: number; timeout: number } | undefined
  /** How often to look when the running item has no deadline of its own (a shared thread mixing runs). */
  private pollMs = 0

  constructor(
    private readonly options: HostOptions,
    private readonly thread: ThreadLifecycle,
    private readonly owner: DeadlineOwner,
  ) {}

  /** A batch went into the thread: watch it (with a timeout set; a shared thread's jobs each have their own, see `timeoutOf`). */
  watch(timeout: number): void {
    if (timeout <= 0 || this.timer !== undefined) return
    this.pollMs = timeout
    this.timer = setTimeout(this.check, timeout)
  }

  private timeoutOf(job: Job): number {
    return job.timeout ?? this.options.timeout
  }

  /** Nothing is left in the thread. */
  stop(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  /** The thread was given up: forget what was watched on it. */
  reset(): void {
    this.stop()
    this.stuck = undefined
  }

  /** Looks at what the thread is running; fails it once it runs past the timeout, replaces the thread if it won't stop. */
  private readonly check = (): void => {
    this.timer = undefined
    const thread = this.thread
    if (!thread.ready || this.owner.inThread === 0) return
    const id = thread.runningId()
    const startedAt = thread.startedAt()
    const now = epochNow()
    let next: number
    const job = this.owner.runningJob(id)
    const timeout = job === undefined ? 0 : this.timeoutOf(job)
    if (timeout > 0) {
      const deadline = startedAt + timeout
      if (now >= deadline) {
        job!.id = 0
        const error = new TimeoutError(this.options.stage, timeout)
        thread.abort([id], error)
        this.stuck = { id, since: now, timeout }
        job!.client.jobDone(job!, THROWN, error)
        if (!thread.alive) return
        next = now + threadTunables.stuckGraceMs
      } else next = deadline
    } else if (this.stuck !== undefined && this.stuck.id === id) {
      if (now >= this.stuck.since + threadTunables.stuckGraceMs) return this.replaceStuck()
      next = this.stuck.since + threadTunables.stuckGraceMs
    } else next = now + this.pollMs
    if (this.owner.inThread > 0) this.timer = setTimeout(this.check, Math.max(1, Math.ceil(next - now)))
  }

  /** An item ran past its timeout and kept the thread busy past the grace period: replace the thread. */
  private replaceStuck(): void {
    const { stage, index, log } = this.options
    const timeout = this.stuck!.timeout
    log.warn(`[${stage}] thread ${index} is stuck on an item that timed out (${timeout} ms); replacing it`)
    this.thread.replace(
      new ThreadError(
        'replaced',
        `stage "${stage}": worker thread ${index} was replaced because an item ran past its ${timeout} ms timeout and did not stop; this item's result was lost with it`,
      ),
    )
  }
}

/** The shortest timeout among `jobs` (0: none has one). */
export function shortestTimeout(jobs: Job[]): number {
  let shortest = 0
  for (const job of jobs) if (job.timeout! > 0 && (shortest === 0 || job.timeout! < shortest)) shortest = job.timeout!
  return shortest
}
