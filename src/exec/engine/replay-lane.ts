import { cancelledError } from '../../result/pipeline-error.js'
import type { ReplayJob, ReplayOrigin, ReplaySink } from './replay.js'
import type { Runner, WorkerConfig, WorkerOwner } from './runner.js'
import { disposeAll } from './worker-life.js'
import { skip } from '../skip.js'

/** What a lane needs of its stage's spec (see StageSpec). */
export interface LaneSpec {
  readonly slots: number
  createRunner(config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner
  handlerIndexOf(index: number): number
}

/**
 * Replays for a stage that can no longer run them on its own workers: it was
 * stopped (an IxJS `take` between it and its `retry` closed it), or it ended and
 * disposed its workers (an operator between them that makes a signal of its own
 * hid the `retry` from it). The lane runs them on workers of its own, created as
 * replays need them and never more than the stage's concurrency (one per
 * handler for `mix`), each item one at a time; they are disposed when the
 * `retry` stages that used the lane release the stage. Rare, so kept simple.
 */
export class ReplayLane implements WorkerOwner {
  private readonly ac = new AbortController()
  private readonly config: WorkerConfig
  private readonly runners: Runner[] = []
  private readonly idle: Runner[] = []
  /** Runners whose `init` failed: no more items, but still disposed. */
  private readonly spent: Runner[] = []
  private readonly queue: ReplayJob[] = []
  private readonly jobs = new Map<number, ReplayJob>()
  private seq = 0
  private dispatching = false
  private again = false
  private closed = false

  constructor(
    private readonly spec: LaneSpec,
    stage: WorkerConfig,
    private readonly origin: ReplayOrigin,
  ) {
    const { stats, scope, retries, timeout, init, dispose, limiter } = stage
    this.config = { stats, scope, signal: this.ac.signal, retries, timeout, init, dispose, limiter }
  }

  /** Queues a replay; `later`: start it from a microtask (the stage is stopping right now). */
  run(item: unknown, priorErrors: unknown[] | null, handlerIndex: number, sink: ReplaySink, recovering: boolean, later: boolean, index = 0): void {
    if (this.closed) return
    this.queue.push({ item, priorErrors, handlerIndex, sink, recovering, index })
    if (later) queueMicrotask(this.dispatch)
    else this.dispatch()
  }

  private readonly dispatch = (): void => {
    // A runner may settle synchronously, inside `run`, and call back here.
    if (this.dispatching) {
      this.again = true
      return
    }
    this.dispatching = true
    try {
      do {
        this.again = false
        for (let i = 0; i < this.queue.length && !this.closed; ) {
          const job = this.queue[i]!
          if (job.sink === null) {
            this.queue.splice(i, 1)
            continue
          }
          const runner = this.freeFor(job.handlerIndex)
          if (runner === undefined) {
            i++
            continue
          }
          this.queue.splice(i, 1)
          const seq = ++this.seq
          this.jobs.set(seq, job)
          const { stats } = this.config
          stats.inFlight++
          if (job.recovering) stats.retried++
          runner.run(job.item, seq, job.priorErrors, job.recovering ? 0 : undefined, job.index)
        }
      } while (this.again)
    } finally {
      this.dispatching = false
    }
  }

  /** An idle runner of handler `handlerIndex`, or a new one while the stage's concurrency allows. */
  private freeFor(handlerIndex: number): Runner | undefined {
    const { idle, spec } = this
    for (let i = idle.length - 1; i >= 0; i--) if (idle[i]!.handlerIndex === handlerIndex) return idle.splice(i, 1)[0]
    const single = spec.handlerIndexOf(spec.slots - 1) === 0
    let index: number
    if (single) {
      if (this.runners.length >= spec.slots) return undefined
      index = this.runners.length
    } else {
      // One worker per handler (mix): the lane's takes the index of the stage's.
      if (this.runners.some((r) => r.handlerIndex === handlerIndex)) return undefined
      index = 0
      while (index < spec.slots && spec.handlerIndexOf(index) !== handlerIndex) index++
    }
    const runner = spec.createRunner(this.config, this, index, handlerIndex)
    this.runners.push(runner)
    return runner
  }

  settled(runner: Runner, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    const job = this.jobs.get(runner.seq)
    if (job === undefined) return
    this.jobs.delete(runner.seq)
    const { stats } = this.config
    stats.inFlight--
    if (ok) {
      if (value === skip) stats.skipped++
      else stats.processed++
      if (job.recovering) stats.failed--
    } else if (!job.recovering) stats.failed++
    if (runner.broken === undefined) this.idle.push(runner)
    else {
      // Its `init` failed: the next replay gets a new worker (and a new `init`), as on the stage itself.
      this.runners.splice(this.runners.indexOf(runner), 1)
      this.spent.push(runner)
    }
    job.sink?.replayed(this.origin, item, ok, value, errors, runner.handlerIndex)
    this.dispatch()
  }

  forget(sink: ReplaySink): void {
    for (const job of this.queue) if (job.sink === sink) job.sink = null
    for (const job of this.jobs.values()) if (job.sink === sink) job.sink = null
  }

  /** No `retry` needs the lane any more: abandon what still runs, and dispose every worker. */
  close(): Promise<void> | undefined {
    if (this.closed) return undefined
    this.closed = true
    this.queue.length = 0
    this.config.stats.inFlight -= this.jobs.size
    this.jobs.clear()
    this.ac.abort(cancelledError('the retry that replayed here has ended'))
    for (const runner of this.runners) if (runner.busy) runner.retire()
    return disposeAll([...this.runners, ...this.spent])
  }
}
