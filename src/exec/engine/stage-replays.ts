import { Queue } from './queue.js'
import { ReplayLane, type LaneSpec } from './replay-lane.js'
import type { ReplayJob, ReplayOrigin, ReplaySink } from './replay.js'

export type { ReplayJob } from './replay.js'
import type { Runner, WorkerConfig } from './runner.js'
import { skip } from '../skip.js'


/** What StageReplays needs of its stage (a WorkerNode). */
export interface ReplayStage extends ReplayOrigin {
  readonly spec: LaneSpec
  readonly config: WorkerConfig
  /** A free runner of handler `handlerIndex`, or undefined. */
  freeFor(handlerIndex: number): Runner | undefined
  /** Why no runner of handler `handlerIndex` can ever run an item (their `init` failed), else undefined. */
  deadFor(handlerIndex: number): unknown
  /** Counts a replay in flight and gives it to `runner` (sequence number `seq`, negative). */
  startReplay(runner: Runner, job: ReplayJob, seq: number): void
  /** A retry now keeps this stage's workers until it releases them. */
  retain(): void
}

/**
 * A stage's replays for downstream `retry` stages: they run on the stage's own
 * workers, ahead of new input, under negative sequence numbers (which is how
 * the stage tells them from its own items); once the stage can't run them any
 * more (stopped, or its workers disposed), on its ReplayLane.
 */
export class StageReplays {
  private readonly queue = new Queue<ReplayJob>(4)
  private readonly running = new Map<number, ReplayJob>()
  private seq = 0
  private lane: ReplayLane | undefined

  constructor(private readonly stage: ReplayStage) {}

  get queued(): number {
    return this.queue.length
  }

  /** Replays the stage's runners are running now. */
  get inFlight(): number {
    return this.running.size
  }

  add(job: ReplayJob): void {
    this.queue.push(job)
  }

  /** Runs a replay on the lane (see ReplayLane), kept until the sink's retry releases the stage; `later`: from the next microtask. */
  toLane(job: ReplayJob, later: boolean): void {
    const sink = job.sink!
    if (sink.holder.hold(this.stage)) this.stage.retain()
    ;(this.lane ??= new ReplayLane(this.stage.spec, this.stage.config, this.stage)).run(job.item, job.priorErrors, job.handlerIndex, sink, job.recovering, later, job.index)
  }

  /** The stage stopped (an IxJS `take` below closed it) while a live retry waits for replays here: they go on on the lane. */
  move(): void {
    let jobs: ReplayJob[] | undefined
    for (const job of this.running.values()) if (job.sink !== null) (jobs ??= []).push(job)
    const queue = this.queue
    for (let i = 0; i < queue.length; i++) if (queue.at(i).sink !== null) (jobs ??= []).push(queue.at(i))
    queue.clear()
    this.running.clear()
    // Not while the run itself is ending: its retries are stopping too.
    if (jobs !== undefined && this.stage.scope.run.failure === undefined) for (const job of jobs) this.toLane(job, true)
  }

  forget(sink: ReplaySink): void {
    this.lane?.forget(sink)
    for (const job of this.running.values()) if (job.sink === sink) job.sink = null
    const queue = this.queue
    for (let i = queue.length; i > 0; i--) {
      const job = queue.shift()
      if (job.sink !== sink) queue.push(job)
    }
  }

  dispatch(): void {
    const { queue, stage } = this
    const { stats } = stage
    while (queue.length > 0) {
      const job = queue.peek()
      if (job.sink === null) {
        queue.shift()
        continue
      }
      const runner = stage.freeFor(job.handlerIndex)
      if (runner === undefined) {
        const cause = stage.deadFor(job.handlerIndex)
        if (cause === undefined) break
        // No worker will ever take it (their `init` failed): it fails with that error, as queued items do.
        queue.shift()
        if (!job.recovering) stats.failed++
        job.sink.replayed(stage, job.item, false, undefined, [...(job.priorErrors ?? []), cause], job.handlerIndex)
        continue
      }
      queue.shift()
      const seq = --this.seq
      this.running.set(seq, job)
      if (job.recovering) stats.retried++
      stage.startReplay(runner, job, seq)
    }
  }

  /** A runner finished replay `runner.seq` (the stage has taken it out of flight). */
  settled(runner: Runner, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    const job = this.running.get(runner.seq)!
    this.running.delete(runner.seq)
    const { stats } = this.stage
    if (ok) {
      if (value === skip) stats.skipped++
      else stats.processed++
      if (job.recovering) stats.failed--
    } else if (!job.recovering) stats.failed++
    job.sink?.replayed(this.stage, item, ok, value, errors, runner.handlerIndex)
  }

  /** Every retry released the stage: the lane's workers go. */
  closeLane(): Promise<void> | undefined {
    const lane = this.lane
    this.lane = undefined
    return lane?.close()
  }
}
