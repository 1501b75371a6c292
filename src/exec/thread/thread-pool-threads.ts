import { messageOf } from '../../result/stage-error.js'
import { WorkerState, type StageContext } from '../context.js'
import type { Logger } from '../logger.js'
import type { WorkerConfig } from '../engine/runner.js'
import { ThreadHost } from './thread-host.js'
import { cloneableEnv } from './thread-connection.js'
import { threadEntry } from './thread-entry.js'
import { ThreadError, type HostGroup, type Job, type JobEnv, type ThreadTarget, type ThreadWorkerOptions } from './thread-job.js'
import { THROWN } from './thread-protocol.js'
import { knownFailure } from './thread.js'

/** A pool's settings, checked. */
export interface PoolSettings {
  readonly threads: number
  readonly idleTimeoutMs: number
  readonly maxBatch: number
  readonly batchMs: number
  readonly transfer: boolean
  readonly worker: ThreadWorkerOptions
  readonly init: ((ctx: StageContext<unknown>) => unknown) | undefined
  readonly dispose: ((state: WorkerState, ctx: StageContext<unknown>) => unknown) | undefined
}

const noop = (): void => {}

/**
 * The threads of a `threadPool`: one ThreadHost per thread (each in `shared`
 * mode: its jobs come from any run, each with its own timeout and env), made on
 * first use and kept until `close()`. A run's thread runners each hold a lease
 * (see `lease`): new items go to the thread holding the fewest, and what a
 * lease gives up (its run ended) is aborted in the threads without ending them.
 */
export class PoolThreads {
  private hosts: ThreadHost[] | undefined
  private starting: Promise<void> | undefined
  /** Items given while `init` runs for the threads: they go to the threads once it is done. */
  private waiting: Job[] = []
  private states: WorkerState[] = []
  private readonly group: HostGroup = { failure: undefined }
  private closed: ThreadError | undefined
  private closing: Promise<void> | undefined
  private forced = false
  private drained: (() => void) | undefined
  private idleTimer: ReturnType<typeof setTimeout> | undefined
  /** Per thread, since when it has had no work (undefined: it has not run since it started). */
  private readonly idleSince: (number | undefined)[] = []
  private seeds: unknown[] = []
  /** The log of the run that used the pool last: the threads' own messages go there. */
  private runLog: Logger | undefined
  private readonly log: Logger
  private lastEnv: { value: unknown; wire: JobEnv } | undefined

  constructor(
    private readonly target: ThreadTarget,
    private readonly name: string,
    private readonly settings: PoolSettings,
  ) {
    const forward =
      (level: keyof Logger) =>
      (message: unknown, ...details: unknown[]): void => {
        const log = this.runLog
        if (log !== undefined && typeof log[level] === 'function') log[level](message as string, ...details)
      }
    this.log = { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') }
  }

  /** Set when no item can run: the pool is closed, or its module can't load. */
  get dead(): ThreadError | undefined {
    return this.closed ?? this.group.failure
  }

  /** A run's stage leases a share of the pool (see PoolLease): its jobs carry this env. */
  use(config: WorkerConfig): JobEnv {
    this.runLog = config.scope.run.log
    this.preflight()
    return this.envOf(config.scope.env)
  }

  private envOf(value: unknown): JobEnv {
    if (this.lastEnv !== undefined && this.lastEnv.value === value) return this.lastEnv.wire
    const { kept, dropped } = cloneableEnv(value)
    if (dropped !== undefined && !this.group.envLogged) {
      this.group.envLogged = true
      this.log.warn(`[${this.name}] ctx.env keys not available in worker threads (they can't be cloned): ${Object.keys(dropped).join(', ')}`)
    }
    const wire: JobEnv = dropped === undefined ? { value: kept } : { value: kept, dropped }
    this.lastEnv = { value, wire }
    return wire
  }

  limit(): number {
    return this.hosts?.[0]?.limit() ?? 2
  }

  submit(job: Job): void {
    const dead = this.dead
    if (dead !== undefined) return job.client.jobDone(job, THROWN, dead)
    const hosts = this.hosts ?? this.start()
    if (hosts === undefined) {
      this.waiting.push(job)
      return
    }
    let best = hosts[0]!
    for (let i = 1; i < hosts.length; i++) if (hosts[i]!.held < best.held) best = hosts[i]!
    best.submit(job)
  }

  /** A lease gave up jobs: the threads abort those they hold (their results will be discarded). */
  abortGivenUp(reason: unknown): void {
    for (const host of this.hosts ?? []) {
      let inThread: Job[] | undefined
      host.eachJob((job, id) => {
        if (id !== 0 && !job.live && job.id === id) (inThread ??= []).push(job)
      })
      if (inThread !== undefined) host.cancel(inThread, reason)
    }
    if (this.waiting.length > 0) this.waiting = this.waiting.filter((job) => job.live)
  }

  /** The threads, made now; undefined while the pool's `init` runs for them (see `waiting`). */
  private start(): ThreadHost[] | undefined {
    if (this.starting !== undefined) return undefined
    const { threads, init } = this.settings
    if (init === undefined) return (this.hosts = Array.from({ length: threads }, (_, i) => this.newHost(i, undefined)))
    this.starting = Promise.all(Array.from({ length: threads }, (_, i) => this.initThread(init, i))).then(
      (seeds) => {
        this.seeds = seeds
        this.hosts = seeds.map((seed, i) => this.newHost(i, seed))
        const waiting = this.waiting
        this.waiting = []
        for (const job of waiting) if (job.live) this.submit(job)
      },
      (error) => {
        this.group.failure = new ThreadError('load', `thread pool "${this.name}": init failed: ${messageOf(error)}`, { cause: error })
        this.log.error(`[${this.name}] ${this.group.failure.message}`)
        const waiting = this.waiting
        this.waiting = []
        for (const job of waiting) if (job.live) job.client.jobDone(job, THROWN, this.group.failure)
      },
    )
    return undefined
  }

  private async initThread(init: (ctx: StageContext<unknown>) => unknown, index: number): Promise<unknown> {
    const ctx = this.context(index)
    const seed = await init(ctx)
    WorkerState.seed(ctx.state, seed)
    this.states[index] = ctx.state
    return seed
  }

  private context(index: number): StageContext<unknown> {
    const state = this.states[index] ?? new WorkerState()
    return { env: undefined, state, signal: new AbortController().signal, attempt: 1, index: 0, worker: index, stage: this.name, log: this.log }
  }

  private newHost(index: number, seed: unknown): ThreadHost {
    const { maxBatch, batchMs, transfer, worker } = this.settings
    return new ThreadHost({
      entry: threadEntry(this.target),
      target: this.target,
      index,
      stage: this.name,
      env: undefined,
      seed,
      timeout: 0,
      maxBatch,
      batchMs,
      transfer,
      log: this.log,
      group: this.group,
      stats: undefined,
      timing: false,
      worker,
      shared: true,
      changed: () => this.changed(index),
    })
  }

  /** Before the threads start: a module known not to load fails every item at once. */
  private preflight(): void {
    if (this.group.failure === undefined && this.hosts === undefined && this.starting === undefined) this.group.failure = knownFailure(this.target, this.name, this.log)
  }

  async ready(): Promise<void> {
    this.preflight()
    if (this.dead === undefined && this.hosts === undefined) this.start()
    await this.starting
    await Promise.all((this.hosts ?? []).map((host) => host.warm()))
    const failure = this.dead ?? this.hosts?.find((host) => host.dead !== undefined)?.dead
    if (failure !== undefined) throw failure
  }

  /** A thread has no work left: the pool may be drained (see `close`), or the thread idle (see `idleTimeoutMs`). */
  private changed(index: number): void {
    if (this.drained !== undefined && this.isDrained()) this.drained()
    const idle = this.settings.idleTimeoutMs
    if (idle > 0 && this.closed === undefined) {
      this.idleSince[index] = performance.now()
      this.idleTimer ??= setTimeout(this.endIdle, idle + 1).unref()
    }
  }

  private isDrained(): boolean {
    return this.waiting.length === 0 && (this.hosts ?? []).every((host) => host.held === 0)
  }

  /** Ends the threads idle for `idleTimeoutMs`; the next item starts them again. */
  private readonly endIdle = (): void => {
    this.idleTimer = undefined
    const hosts = this.hosts
    if (hosts === undefined || this.closed !== undefined) return
    const idle = this.settings.idleTimeoutMs
    const now = performance.now()
    let next = Infinity
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[i]!
      const since = this.idleSince[i]
      if (host.held > 0 || since === undefined) continue
      if (now - since >= idle) {
        host.close().then(noop, noop)
        hosts[i] = this.newHost(i, this.seeds[i])
        this.idleSince[i] = undefined
      } else next = Math.min(next, since + idle - now)
    }
    if (next !== Infinity) this.idleTimer = setTimeout(this.endIdle, next + 1).unref()
  }

  close(force: boolean): Promise<void> {
    this.closed ??= new ThreadError('closed', `thread pool "${this.name}" is closed: create a new one, or close it only once no run uses it`)
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer)
    if (force) {
      const error = new ThreadError('closed', `thread pool "${this.name}" was closed with { force: true } while this item ran`)
      for (const job of this.waiting) if (job.live) job.client.jobDone(job, THROWN, error)
      this.waiting = []
      for (const host of this.hosts ?? []) abandon(host, error)
      // Nothing is left to wait for: a graceful close() under way goes on to dispose.
      this.forced = true
      this.drained?.()
    }
    return (this.closing ??= this.finish())
  }

  private async finish(): Promise<void> {
    await this.starting?.catch(noop)
    if (!this.forced && !this.isDrained()) await new Promise<void>((resolve) => (this.drained = resolve))
    this.drained = undefined
    const { dispose } = this.settings
    const disposing: Promise<unknown>[] = []
    if (dispose !== undefined) {
      for (let i = 0; i < this.states.length; i++) {
        const ctx = this.context(i)
        disposing.push(
          (async () => dispose(ctx.state, ctx))().catch((error: unknown) => this.log.error(`[${this.name}] dispose failed for thread ${i}: ${messageOf(error)}`)),
        )
      }
    }
    await Promise.all([...disposing, ...(this.hosts ?? []).map((host) => host.close())])
  }
}

/** Fails every item `host` holds with `error` (those in its thread see their signal abort), then ends its thread. */
function abandon(host: ThreadHost, error: ThreadError): void {
  const jobs: Job[] = []
  host.eachJob((job, id) => {
    if (job.live && (id === 0 || job.id === id)) jobs.push(job)
  })
  for (const job of jobs) job.client.jobDone(job, THROWN, error)
  host.close(error).then(noop, noop)
}
