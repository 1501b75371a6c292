/*
 * What the parts of a thread host share (thread-host.ts: batching,
 * thread-lifecycle.ts: the thread's life, thread-timeouts.ts: deadlines): a job
 * and who hears its outcome, the host's options, and ThreadError.
 */
import type { Logger } from '../logger.js'
import type { StageStats } from '../stats.js'

/** Thread counts, for tests and diagnostics (internal). */
export const threadCounters = { live: 0, spawned: 0, batches: 0, items: 0 }

/** Internal settings (tests raise `closeGraceMs` where a loaded machine could make it too short). */
export const threadTunables = {
  /** After an item's timeout, how long its thread has to move on before it is replaced. */
  stuckGraceMs: 100,
  /** On close, how long a thread with items in flight gets to take their abort (its handlers see the signal) before it is terminated. */
  closeGraceMs: 100,
}

/** How to start the thread: the entry file, and with TypeScript sources, the tsx loader to register first. */
export interface ThreadEntry {
  readonly url: URL
  readonly tsx?: string | undefined
}

/** What to load in the thread. */
export interface ThreadTarget {
  readonly module?: string
  readonly exportName?: string
  readonly source?: string
}

/** Shared by the hosts of one stage: once one of them gives up loading the module, all do. */
export interface HostGroup {
  failure: ThreadError | undefined
  /** The env keys left out have been logged (once per stage, not per thread). */
  envLogged?: boolean
}

export interface HostOptions {
  readonly entry: ThreadEntry
  readonly target: ThreadTarget
  readonly index: number
  readonly stage: string
  readonly env: unknown
  readonly seed?: unknown
  /** Per-attempt timeout in ms, measured from the item's start in the thread (0: none). */
  readonly timeout: number
  readonly maxBatch: number
  readonly batchMs: number
  readonly transfer: boolean
  readonly log: Logger
  readonly group: HostGroup
  readonly stats: StageStats | undefined
  readonly timing: boolean
  /** Passed to each `Worker` (a pool's `resourceLimits`, `execArgv`). */
  readonly worker?: ThreadWorkerOptions
  /**
   * A pool's thread: jobs of several runs share it, so each job carries its own
   * `timeout` and `env` (the env travels with the first batch that needs it).
   */
  readonly shared?: boolean
  /** The thread has no work left (nothing pending or in it), or its module loaded. */
  readonly changed?: () => void
}

/** What a pool passes on to Node's `Worker`. */
export interface ThreadWorkerOptions {
  readonly resourceLimits?: import('node:worker_threads').ResourceLimits
  readonly execArgv?: string[]
}

/** The env a shared thread's job needs: the same object for every job of a run (a batch never mixes two). */
export interface JobEnv {
  readonly value: unknown
  readonly dropped?: Record<string, string>
}

/** What a thread runner submits its jobs to: one thread (ThreadHost), or a lease on a pool's threads. */
export interface LeasedHost {
  /** Set when no item can run (the module can't load, the pool is closed): every item fails with it. */
  readonly dead: ThreadError | undefined
  /** How many items the runner should hold at once. */
  limit(): number
  submit(job: Job): void
  /** Gives up `jobs` (their results will be discarded) and aborts those in a thread. */
  cancel(jobs: Iterable<Job>, reason: unknown): void
}

/** Kinds of outcome a client hears: 0 = value, else THROWN, LEFT (error value) or KILLED (reason). */
export const OK = 0

export interface JobClient {
  jobDone(job: Job, kind: number, value: unknown): void
}

/** One item on its way through a thread; the same job is submitted again for another attempt. */
export interface Job {
  item: unknown
  attempt: number
  /** Its position in the stage's input (`ctx.index` in the thread). */
  readonly index?: number
  /** The id it was last sent under; 0 while it is not in the thread. A reply for another id is late. */
  id: number
  /** False once given up (settled, timed out, cancelled). */
  live: boolean
  client: JobClient
  /** Set by a pool for its shared threads: this job's timeout (ms, 0: none) and env. */
  timeout?: number
  env?: JobEnv
}

/**
 * Why a thread stage failed an item, apart from the handler's own errors: it
 * arrives as the `StageError`'s `cause`, and `reason` says what happened.
 *
 * @example
 * ```ts
 * pipe(items, pool(thread(url), 4), retry({ retries: 1, when: (cause) => cause instanceof ThreadError && cause.reason === 'crashed' }))
 * ```
 */
export class ThreadError extends Error {
  /** @hidden */
  override readonly name = 'ThreadError'
  constructor(
    /** `crashed`: the thread died (uncaught error, `process.exit`, a `resourceLimits` limit); `load`: its module could not be loaded; `replaced`: it was stopped because an item ignored its timeout; `unsendable`: the item could not be cloned; `closed`: its `threadPool` was closed. */
    readonly reason: 'crashed' | 'load' | 'replaced' | 'unsendable' | 'closed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }

  /** @hidden */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'ThreadError' && 'reason' in value
  }
}
