import { WorkerState } from '../context.js'
import { KILLED, SKIPPED } from './thread-protocol.js'
import { skip } from '../skip.js'
import { OK, type Job, type JobClient, type JobEnv, type LeasedHost } from './thread-job.js'
import type { Runner, WorkerConfig, WorkerOwner } from '../engine/runner.js'
import { admitParked, admitted, ticketAbandoned, ticketEnded } from '../engine/limiter.js'
import { signalAborted } from '../engine/aborted.js'
import { Context } from '../engine/worker-life.js'
import { FixedConfig } from '../engine/worker-spec.js'
import { AttemptTicket, RunnerLife, beginAttempts, errorsWith, retryAfter, type LifeClient } from '../engine/runner-life.js'

/** An item of a thread runner: a job, and its ticket for the stage's limiter. */
class RunJob extends AttemptTicket implements Job {
  id = 0
  live = true
  /** Set by a pool (see Job.timeout); a stage's own thread times its jobs by the stage's timeout. */
  timeout: number | undefined = undefined
  env: JobEnv | undefined = undefined
  constructor(
    readonly item: unknown,
    readonly client: ThreadRunner,
    readonly seq: number,
    readonly index: number,
  ) {
    super()
  }

  admit(): void {
    this.client.jobAdmitted(this)
  }
}

/** The runner's thread (or its share of a pool's threads), and how to let it go. */
export interface HostLease {
  readonly host: LeasedHost
  release(): Promise<void>
}

/**
 * Opens a runner's lease once `init` is done (with its value). A class per kind
 * of thread stage rather than a closure made per run: V8's optimized code for
 * the hot path holds what it calls weakly, and a closure that dies with its run
 * would throw that code away at the next full GC, and with it every run's warm-up.
 */
export interface LeaseOpener {
  open(seed: unknown): HostLease
}

/**
 * What a runner of no stage (see `anchorShapes`) is given in place of its stage's: nothing of a run,
 * in the class a run's config has (the runner's hot path checks that class; a look-alike object
 * would leave it unkept).
 */
export const DETACHED_CONFIG: WorkerConfig = new FixedConfig(
  { name: 'pipevine shapes' } as WorkerConfig['stats'],
  { env: undefined, run: { log: undefined } } as unknown as WorkerConfig['scope'],
  new AbortController().signal,
  0,
  0,
  undefined,
  undefined,
  undefined,
)
const DETACHED_OWNER = { settled(): void {} } as unknown as WorkerOwner

/** What `anchorShapes` keeps: per kind of thread stage, a runner (holding its lease) and a finished job. */
const anchored: { readonly runner: ThreadRunner; readonly job: Job }[] = []

/**
 * Keeps a thread runner that holds `lease` and `opener`, and one of its jobs, for
 * the life of the process, as exec/shapes.ts does for the engine's stages (called
 * once per kind of thread stage, with a lease and an opener of that kind that start
 * no thread).
 *
 * V8 keeps a hidden class only while some object has it. Runners and jobs live
 * only as long as their run, so a full GC between two runs would drop their
 * classes, and with them the optimised code of the whole item path (the
 * engine's too, which inlines the runner's methods): every run through a warm
 * `threadPool` would start cold, and its compiling again take CPU from the
 * threads (cpu-small, 50,000 items of ~20 µs on 2 cores: ~60 ms of CPU per run).
 * What is kept holds no user data and no thread.
 */
export function anchorShapes(lease: HostLease, opener: LeaseOpener): void {
  anchored.push(ThreadRunner.detached(lease, opener))
}

/** For tests: what `anchorShapes` keeps. */
export function anchoredThreadShapes(): readonly { readonly runner: ThreadRunner; readonly job: Job }[] {
  return anchored
}

/**
 * The runner of one worker of a thread stage: a worker thread that holds several
 * items at once (a multi-item runner, see `Runner.limit`), so that they travel in
 * batches. It keeps a worker's semantics per item: attempts in place (`retries`),
 * timeouts (measured in the thread, see ThreadHost), `init`/`dispose`, kill, and
 * a stopped stage's late results discarded.
 *
 * `init` runs here, on the main thread; its result seeds `ctx.state` here and,
 * cloned, in the thread. `dispose` runs here too.
 */
export class ThreadRunner implements Runner, JobClient, LifeClient<RunJob> {
  seq = 0
  held = 0
  private readonly jobs = new Set<RunJob>()
  private lease: HostLease | undefined
  private readonly life: RunnerLife<RunJob>

  constructor(
    private readonly config: WorkerConfig,
    private readonly opener: LeaseOpener,
    private readonly owner: WorkerOwner,
    readonly index: number,
    readonly handlerIndex: number,
    readonly maxLimit: number,
  ) {
    const { scope, stats, signal } = config
    const ctx = new Context(scope.env, new WorkerState(), signal, 1, index, stats.name, scope.run.log)
    this.life = new RunnerLife(config, ctx, index, this)
  }

  /** A runner of no stage, holding `lease` (never opening another), and a finished job of it: see `anchorShapes`. */
  static detached(lease: HostLease, opener: LeaseOpener): { runner: ThreadRunner; job: Job } {
    const runner = new ThreadRunner(DETACHED_CONFIG, opener, DETACHED_OWNER, 0, 0, 2)
    runner.lease = lease
    const job = new RunJob(undefined, runner, 0, 0)
    job.live = false
    return { runner, job }
  }

  get busy(): boolean {
    return this.held > 0
  }

  get broken(): unknown {
    return this.life.initError ?? this.lease?.host.dead
  }

  limit(): number {
    return this.lease?.host.limit() ?? 2
  }

  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra = this.config.retries, index = seq): void {
    const life = this.life
    life.used = true
    const job = new RunJob(item, this, seq, index)
    beginAttempts(job, priorErrors, maxExtra)
    this.held++
    this.jobs.add(job)
    if (life.initError !== undefined) return this.failWaiting(job, life.initError)
    if (life.ready(job)) this.submit(job)
  }

  /** Sends an attempt to the thread once the stage's limiter admits it. */
  private submit(job: RunJob): void {
    if (admitted(this.config.limiter, job)) this.host(undefined).submit(job)
  }

  /** The limiter admits a parked job: it goes to the thread unless it or its stage stopped meanwhile (then it is released as cancelled). */
  jobAdmitted(job: RunJob): void {
    if (admitParked(this.config.limiter, job, !job.live || this.life.retired || signalAborted(this.config.signal))) this.host(undefined).submit(job)
  }

  host(seed: unknown): LeasedHost {
    return (this.lease ??= this.opener.open(seed)).host
  }

  /** `init` succeeded: the thread starts with its value. */
  initialized(seed: unknown): void {
    this.host(seed)
  }

  startWaiting(job: RunJob): void {
    if (job.live) this.submit(job)
  }

  failWaiting(job: RunJob, error: unknown): void {
    if (job.live) this.finish(job, false, errorsWith(job, error))
  }

  jobDone(job: Job, kind: number, value: unknown): void {
    const own = job as RunJob
    if (!own.live || this.life.retired) return
    const { config } = this
    if (kind === KILLED) {
      config.scope.run.kill(value)
      return
    }
    ticketEnded(config.limiter, own, kind === OK || kind === SKIPPED, value)
    if (kind === OK) return this.finish(own, true, value)
    if (kind === SKIPPED) return this.finish(own, true, skip)
    if (retryAfter(config, own, value, this.broken === undefined)) return this.submit(own)
    this.finish(own, false, own.errors)
  }

  private finish(job: RunJob, ok: boolean, result: unknown): void {
    job.live = false
    this.jobs.delete(job)
    this.held--
    this.seq = job.seq
    if (ok) this.owner.settled(this, job.item, true, result, null)
    else this.owner.settled(this, job.item, false, undefined, result as unknown[])
  }

  /** The stage stopped: give up every item (the thread sees their signals abort; late results are discarded). */
  retire(): void {
    this.life.retire()
    this.lease?.host.cancel(this.jobs, this.config.signal.reason ?? new Error('the stage stopped'))
    for (const job of this.jobs) {
      job.live = false
      ticketAbandoned(this.config.limiter, job)
    }
    this.jobs.clear()
    this.held = 0
  }

  /** Runs `dispose` once (if this worker ever took an item) and ends its thread. */
  dispose(): Promise<void> | undefined {
    return this.life.dispose()
  }

  released(): Promise<void> | undefined {
    return this.lease?.release()
  }
}
