import { WorkerState } from '../context.js'
import { KILLED, SKIPPED } from './thread-protocol.js'
import { skip } from '../skip.js'
import { OK, type Job, type JobClient } from './thread-job.js'
import type { ThreadHost } from './thread-host.js'
import type { Runner, WorkerConfig, WorkerOwner } from '../engine/runner.js'
import { Context, SEEDED, callDispose, callInit, logInitFailed, retryInPlace, seedState, settleLateInit } from '../engine/worker-life.js'

interface RunJob extends Job {
  readonly seq: number
  errors: unknown[] | null
  readonly maxAttempt: number
}

/** The runner's thread, and how to let it go. */
export interface HostLease {
  readonly host: ThreadHost
  release(): Promise<void>
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
export class ThreadRunner implements Runner, JobClient {
  seq = 0
  held = 0
  private readonly jobs = new Set<RunJob>()
  private lease: HostLease | undefined
  private retired = false
  private used = false
  private disposed = false
  private initState: 0 | 1 | 2 = 0 // none, running, done
  private initError: unknown = undefined
  private waiting: RunJob[] = []
  private readonly ctx: Context

  constructor(
    private readonly config: WorkerConfig,
    private readonly open: (seed: unknown) => HostLease,
    private readonly owner: WorkerOwner,
    readonly index: number,
    readonly handlerIndex: number,
    readonly maxLimit: number,
  ) {
    const { scope, stats, signal } = config
    this.ctx = new Context(scope.env, new WorkerState(), signal, 1, index, stats.name, scope.run.log)
  }

  get busy(): boolean {
    return this.held > 0
  }

  get broken(): unknown {
    return this.initError ?? this.lease?.host.dead
  }

  limit(): number {
    return this.lease?.host.limit() ?? 2
  }

  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra = this.config.retries, index = seq): void {
    this.used = true
    const attempt = priorErrors === null ? 1 : priorErrors.length + 1
    const job: RunJob = { item, attempt, index, id: 0, live: true, client: this, seq, errors: priorErrors === null ? null : priorErrors.slice(), maxAttempt: attempt + maxExtra }
    this.held++
    this.jobs.add(job)
    if (this.initError !== undefined) return this.fail(job, this.initError)
    if (this.config.init !== undefined && this.initState !== 2) {
      this.waiting.push(job)
      if (this.initState === 0) this.initialize()
      return
    }
    this.host(undefined).submit(job)
  }

  private host(seed: unknown): ThreadHost {
    return (this.lease ??= this.open(seed)).host
  }

  private initialize(): void {
    this.initState = 1
    callInit(
      this.config.init!,
      this.ctx,
      (value) => (this.retired ? this.lateInit(value) : this.initDone(value)),
      (error) => this.retired || this.initFailed(error),
    )
  }

  private initDone(value: unknown): void {
    const seeded = seedState(this.ctx, value)
    if (seeded !== SEEDED) return this.initFailed(seeded)
    this.initState = 2
    const host = this.host(value)
    const waiting = this.waiting
    this.waiting = []
    for (const job of waiting) if (job.live) host.submit(job)
  }

  /** `init` finished after the stage stopped: no thread for it (see settleLateInit). */
  private lateInit(value: unknown): void {
    this.initState = 2
    settleLateInit(this.config, this.ctx, this.index, value, this.disposed)
  }

  private initFailed(error: unknown): void {
    this.initState = 2
    this.initError = error
    logInitFailed(this.config, this.index, error)
    const waiting = this.waiting
    this.waiting = []
    for (const job of waiting) if (job.live) this.fail(job, error)
  }

  private fail(job: RunJob, error: unknown): void {
    this.finish(job, false, [...(job.errors ?? []), error])
  }

  jobDone(job: Job, kind: number, value: unknown): void {
    const own = job as RunJob
    if (!own.live || this.retired) return
    if (kind === OK) return this.finish(own, true, value)
    if (kind === SKIPPED) return this.finish(own, true, skip)
    const { config } = this
    if (kind === KILLED) {
      config.scope.run.kill(value)
      return
    }
    const errors = (own.errors ??= [])
    errors.push(value)
    if (this.broken === undefined && retryInPlace(config, own.attempt, own.maxAttempt, value)) {
      own.attempt++
      this.lease!.host.submit(own)
      return
    }
    this.finish(own, false, errors)
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
    this.retired = true
    this.lease?.host.cancel(this.jobs, this.config.signal.reason ?? new Error('the stage stopped'))
    for (const job of this.jobs) job.live = false
    this.jobs.clear()
    this.waiting = []
    this.held = 0
  }

  /** Runs `dispose` once (if this worker ever took an item) and ends its thread. */
  dispose(): Promise<void> | undefined {
    if (this.disposed || !this.used) return undefined
    this.disposed = true
    const waits: Promise<unknown>[] = []
    const { config } = this
    if (config.dispose !== undefined && this.initError === undefined && this.initState !== 1) {
      const disposing = callDispose(config, this.ctx, this.index)
      if (disposing !== undefined) waits.push(disposing)
    }
    if (this.lease !== undefined) waits.push(this.lease.release())
    return waits.length === 0 ? undefined : Promise.all(waits).then(() => {})
  }

}
