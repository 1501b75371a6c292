import { transfer as comlinkTransfer, wrap, type Remote } from 'comlink'
import { Worker as NodeWorker } from 'node:worker_threads'
import type { Logger } from '../logger.js'
import type { StageStats } from '../stats.js'
import { TimeoutError, messageOf } from '../../result/stage-error.js'
import { Queue } from '../engine/queue.js'
import {
  LEFT,
  LOG_KEY,
  PROGRESS_BYTES,
  SALVAGE_KEY,
  THROWN,
  cloneable,
  collectTransfers,
  epochNow,
  fromWire,
  isDataCloneError,
  nodeEndpoint,
  toWire,
  type Batch,
  type InitInfo,
  type LogMessage,
  type Reply,
  type SalvageMessage,
  type Transferable,
} from './thread-protocol.js'

/*
 * One worker thread, seen from the main thread: it starts the thread, sends it
 * items in batches through comlink, and closes comlink's gaps (no cancellation,
 * no timeout, and a call whose thread dies never settles):
 *
 * - Batching. Submitted jobs wait in `pending` until a microtask flush, so the
 *   jobs submitted in one tick travel in one message, and a lone job submitted
 *   to an idle thread travels alone at once. While the thread works, jobs gather
 *   until they make a whole batch. A batch holds about `batchMs` of work (the
 *   thread reports how long each batch took), at most `maxBatch` items, and at
 *   most two batches are in the thread at once, so it rarely waits for the next.
 * - Progress. The thread writes the id of the item it is running, and when it
 *   started, into a SharedArrayBuffer. Per-item timeouts are measured from that
 *   start (never from when the batch was sent), and after a crash the items that
 *   had not started are sent again to the replacement thread.
 * - Death. No call is awaited for its outcome alone: the thread's 'exit' event
 *   fails the item that was running in it (a thread exiting mid-batch first
 *   sends the results of the batch's finished items), and a stale reply (from an
 *   earlier generation of the thread) is ignored. An exit is a failed load only
 *   while the module has not loaded (the thread flags that in the progress buffer).
 * - Start. The first batches go right behind `init` (the thread queues them
 *   behind loading its module); if the module does not load, none of them ran,
 *   and they go back to the queue for the next thread.
 */

/** Thread counts, for tests and diagnostics (internal). */
export const threadCounters = { live: 0, spawned: 0, batches: 0, items: 0 }

/** Tries at starting a thread whose module fails to load, before the stage gives up. */
export const MAX_LOAD_ATTEMPTS = 3
const LOAD_BACKOFF_MS = 100
const CRASH_BACKOFF_MS = 50
const MAX_BACKOFF_MS = 2_000
/** Internal settings (tests raise `closeGraceMs` where a loaded machine could make it too short). */
export const threadTunables = {
  /** After an item's timeout, how long its thread has to move on before it is replaced. */
  stuckGraceMs: 100,
  /** On close, how long a thread with items in flight gets to take their abort (its handlers see the signal) before it is terminated. */
  closeGraceMs: 100,
}
const MAX_BATCHES_IN_FLIGHT = 2

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
  /** The id it was last sent under; 0 while it is not in the thread. A reply for another id is late. */
  id: number
  /** False once given up (settled, timed out, cancelled). */
  live: boolean
  client: JobClient
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
    /** `crashed`: the thread died (uncaught error, `process.exit`); `load`: its module could not be loaded; `replaced`: it was stopped because an item ignored its timeout; `unsendable`: the item could not be cloned. */
    readonly reason: 'crashed' | 'load' | 'replaced' | 'unsendable',
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

interface InitReply {
  readonly ok: boolean
  /** The module can never load (no such export, not a function): don't try again. */
  readonly permanent?: boolean
  readonly error?: unknown
}

interface ThreadApi {
  init(info: InitInfo): Promise<InitReply>
  run(batch: Batch): Promise<Reply>
  abort(ids: number[], reason: unknown): void
}

interface Sent {
  readonly job: Job
  readonly id: number
}

const noop = (): void => {}

export class ThreadHost {
  private worker: NodeWorker | undefined
  private runFn: Remote<ThreadApi>['run'] | undefined
  private abortFn: Remote<ThreadApi>['abort'] | undefined
  /** Bumped whenever the current thread is given up: replies and events of an older one are ignored. */
  private generation = 0
  /** Batches may be sent: set as soon as `init` is on its way (batches queue behind it in the thread). */
  private ready = false
  /** The thread's module has loaded (`init` replied). Until then an exit is a failed load, not a crash. */
  private loaded = false
  private closed = false
  private closing: Promise<void> | undefined
  private pending = new Queue<Job>(8)
  private readonly sent = new Queue<Sent>(8)
  private inFlight = 0
  private nextId = 1
  private flushQueued = false
  private refd = true
  private progressIds: Int32Array<ArrayBufferLike> = new Int32Array(1)
  private progressTimes: Float64Array<ArrayBufferLike> = new Float64Array(1)
  private loadedFlag: Int32Array<ArrayBufferLike> = new Int32Array(1)
  private postError: unknown = undefined
  /** Adaptive batch size, from how long items take in the thread. */
  private batchSize = 1
  private itemMs = -1
  private loadFailures = 0
  private crashStreak = 0
  private restartTimer: ReturnType<typeof setTimeout> | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private stuck: { id: number; since: number } | undefined
  private cancelReason: unknown = undefined
  /** Threads given up and told to terminate: close() waits for them too. */
  private readonly ending = new Set<Promise<unknown>>()
  /** Set when the thread can't be started: every item fails with it. */
  dead: ThreadError | undefined

  constructor(private readonly options: HostOptions) {}

  /** How many items this thread should hold at once (queued here or in the thread): two batches. */
  limit(): number {
    return 2 * this.batchSize
  }

  get maxLimit(): number {
    return 2 * this.options.maxBatch
  }

  submit(job: Job): void {
    job.id = 0
    if (this.dead !== undefined) return job.client.jobDone(job, THROWN, this.dead)
    if (this.closed) return
    this.pending.push(job)
    if (this.worker === undefined && this.restartTimer === undefined) this.spawn()
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
    if (ids !== undefined) this.abort(ids, reason)
  }

  // ---- starting the thread ---------------------------------------------------

  private spawn(): void {
    if (this.closed || this.dead !== undefined || this.worker !== undefined) return
    const failure = this.options.group.failure
    if (failure !== undefined) return this.giveUp(failure)
    const generation = ++this.generation
    const { entry, target, index, stage } = this.options
    const workerOptions = { name: `pipevine ${stage} #${index}` }
    const worker = entry.tsx
      ? new NodeWorker(`import(${JSON.stringify(entry.tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.url.href)}) })`, {
          ...workerOptions,
          eval: true,
        })
      : new NodeWorker(entry.url, workerOptions)
    threadCounters.live++
    threadCounters.spawned++
    this.worker = worker
    this.ready = false
    this.refd = true
    let crash: unknown
    worker.on('error', (error) => {
      crash ??= error
    })
    worker.on('exit', (code) => {
      threadCounters.live--
      if (generation === this.generation) this.exited(code, crash)
    })
    worker.on('message', (message: unknown) => this.onMessage(message, generation))
    worker.on('messageerror', (error) => {
      // A reply that can't be read would leave its batch waiting forever: give the thread up instead.
      if (generation !== this.generation || this.closed) return
      this.options.log.error(`[${stage}] a message from thread ${index} could not be read: ${messageOf(error)}; replacing the thread`)
      this.replace(new ThreadError('crashed', `stage "${stage}": a reply from worker thread ${index} could not be read: ${messageOf(error)}`, { cause: error }))
    })
    const endpoint = nodeEndpoint(worker, this.onPostError)
    const remote = wrap<ThreadApi>(endpoint)
    this.runFn = remote.run
    this.abortFn = remote.abort
    const progress = new SharedArrayBuffer(PROGRESS_BYTES)
    this.progressIds = new Int32Array(progress, 0, 1)
    this.progressTimes = new Float64Array(progress, 8, 1)
    this.loadedFlag = new Int32Array(progress, 4, 1)
    const info: InitInfo = {
      ...target,
      env: this.options.env,
      seed: this.options.seed,
      index,
      stage,
      progress,
      transfer: this.options.transfer,
    }
    this.postError = undefined
    this.loaded = false
    remote.init(info).then(
      (reply) => this.initDone(generation, reply),
      (error) => this.initDone(generation, { ok: false, error }),
    )
    // The first batch goes right behind `init`, saving a round trip before the first item.
    this.ready = true
    this.flush()
  }

  private initDone(generation: number, reply: InitReply): void {
    if (generation !== this.generation || this.closed) return
    if (reply.ok) {
      this.loaded = true
      this.loadFailures = 0
      return
    }
    // The thread is alive but its module is not: take back the batches sent behind `init` (none ran),
    // stop the thread and count a failed load.
    const cause = fromWire(reply.error)
    this.takeBack(cause)
    this.dropWorker()
    this.loadFailed(cause, reply.permanent === true)
  }

  /** The thread never loaded: what was sent to it goes back to the queue for the next one. */
  private takeBack(cause: unknown): void {
    const ran = this.lost()
    if (ran.length > 0) this.fail(ran, new ThreadError('load', `stage "${this.options.stage}": worker thread ${this.options.index} failed while loading: ${messageOf(cause)}`, { cause }))
  }

  private loadFailed(cause: unknown, permanent: boolean): void {
    this.loadFailures++
    const { stage, index } = this.options
    if (permanent || this.loadFailures >= MAX_LOAD_ATTEMPTS || this.options.group.failure !== undefined) {
      const tries = permanent ? '' : ` (${this.loadFailures} attempt${this.loadFailures === 1 ? '' : 's'})`
      const error =
        this.options.group.failure ??
        new ThreadError('load', `stage "${stage}": worker thread could not start${tries}: ${messageOf(cause)}`, { cause })
      const first = this.options.group.failure === undefined
      this.options.group.failure = error
      return this.giveUp(error, first)
    }
    this.options.log.warn(`[${stage}] thread ${index} failed to start (attempt ${this.loadFailures} of ${MAX_LOAD_ATTEMPTS}): ${messageOf(cause)}`)
    this.respawnAfter(Math.min(LOAD_BACKOFF_MS * 2 ** (this.loadFailures - 1), MAX_BACKOFF_MS))
  }

  private giveUp(error: ThreadError, first = false): void {
    if (this.dead !== undefined) return
    this.dead = error
    if (first) this.options.log.error(`[${this.options.stage}] ${error.message}`)
    const jobs: Job[] = []
    while (this.sent.length > 0) jobs.push(this.sent.shift().job)
    while (this.pending.length > 0) jobs.push(this.pending.shift())
    for (const job of jobs) if (job.live) job.client.jobDone(job, THROWN, error)
  }

  private respawnAfter(ms: number): void {
    if (this.closed) return
    if (ms <= 0) return this.spawn()
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      this.spawn()
    }, ms)
  }

  /** Forgets the current thread (its late events are ignored) and terminates it. */
  private dropWorker(): void {
    const worker = this.worker
    this.generation++
    this.worker = undefined
    this.forget()
    if (worker !== undefined) this.terminate(worker)
  }

  private terminate(worker: NodeWorker): Promise<unknown> {
    const ending = worker.terminate().then(noop, noop)
    this.ending.add(ending)
    ending.then(() => this.ending.delete(ending))
    return ending
  }

  // ---- the thread died ---------------------------------------------------------

  private exited(code: number, crash: unknown): void {
    this.worker = undefined
    this.generation++
    if (this.closed) return
    const { stage, index } = this.options
    // The flag is set in the thread as soon as the module loads, before `init`'s reply could get here.
    if (!this.loaded && Atomics.load(this.loadedFlag, 0) === 1) {
      this.loaded = true
      this.loadFailures = 0
    }
    if (!this.loaded) {
      const cause = crash ?? new Error(`the thread exited with code ${code} while loading`)
      this.takeBack(cause)
      return this.loadFailed(cause, false)
    }
    const why = crash !== undefined ? `crashed: ${messageOf(crash)}` : `exited with code ${code}`
    this.options.log.error(`[${stage}] thread ${index} ${why}; starting a new one`)
    const failed = this.lost()
    this.crashStreak++
    // The replacement (or its backoff) comes first: failing the lost items lets their owner submit more at once.
    this.respawnAfter(this.crashStreak <= 1 ? 0 : Math.min(CRASH_BACKOFF_MS * 2 ** (this.crashStreak - 2), MAX_BACKOFF_MS))
    this.fail(failed, new ThreadError('crashed', `stage "${stage}": worker thread ${index} ${why}`, { cause: crash }))
  }

  /** Drops what belonged to the thread just given up. */
  private forget(): void {
    this.runFn = undefined
    this.abortFn = undefined
    this.ready = false
    this.inFlight = 0
    this.clearTimer()
    this.stuck = undefined
  }

  /**
   * The thread is gone with items in it. Those it had started and whose outcome
   * has not arrived are returned, to fail: the item that was running, and, only
   * when the thread could not send them first (terminated, or a hard crash), the
   * batch-mates that had finished before it (running them again could repeat
   * their effects). Those it had not started go back to the front of the queue
   * for the next thread.
   */
  private lost(): Job[] {
    const started = Math.abs(Atomics.load(this.progressIds, 0))
    this.forget()
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

  private fail(jobs: Job[], error: ThreadError): void {
    for (const job of jobs) {
      job.id = 0
      if (job.live) job.client.jobDone(job, THROWN, error)
    }
  }

  // ---- sending -------------------------------------------------------------------

  /**
   * Flushes at the end of this tick, if there is reason to: an idle thread gets
   * what is pending (a lone item goes at once); a busy one only a whole batch,
   * so items submitted one by one while it works gather into the next batch.
   */
  private schedule(): void {
    if (this.flushQueued || !this.ready) return
    if (this.inFlight === 0 || (this.inFlight < MAX_BATCHES_IN_FLIGHT && this.pending.length >= this.batchSize)) {
      this.flushQueued = true
      queueMicrotask(this.flush)
    }
  }

  private readonly flush = (): void => {
    this.flushQueued = false
    if (!this.ready || this.closed) return
    const pending = this.pending
    while (pending.length > 0 && this.inFlight < MAX_BATCHES_IN_FLIGHT) {
      if (this.inFlight > 0 && pending.length < this.batchSize) break
      const jobs: Job[] = []
      const size = this.batchSize
      while (jobs.length < size && pending.length > 0) {
        const job = pending.shift()
        if (job.live) jobs.push(job)
      }
      if (jobs.length === 0) break
      this.send(jobs, true)
      if (!this.ready) break
    }
    this.updateRef()
  }

  private send(jobs: Job[], withTransfers: boolean): void {
    const first = this.nextId
    this.nextId += jobs.length
    const items = new Array<unknown>(jobs.length)
    let attempts: number[] | undefined
    let transfers: Set<Transferable> | undefined
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!
      items[i] = job.item
      if (job.attempt !== 1) (attempts ??= new Array<number>(jobs.length).fill(1))[i] = job.attempt
      if (withTransfers && typeof job.item === 'object' && job.item !== null) collectTransfers(job.item, this.options.transfer, (transfers ??= new Set()))
    }
    const batch: Batch = attempts === undefined ? { first, items } : { first, items, attempts }
    const generation = this.generation
    this.postError = undefined
    const call = this.runFn!(transfers !== undefined && transfers.size > 0 ? comlinkTransfer(batch, [...transfers] as never[]) : batch)
    if (this.postError !== undefined) {
      // comlink posts synchronously: the batch could not be cloned, so it never left.
      call.then(noop, noop)
      return this.unsendable(jobs, this.postError, withTransfers)
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
    if (this.options.timeout > 0 && this.timer === undefined) this.timer = setTimeout(this.check, this.options.timeout)
  }

  /** A batch failed to clone: fail the items that can't be cloned, send the rest again (without transfers). */
  private unsendable(jobs: Job[], error: unknown, withTransfers: boolean): void {
    const good: Job[] = []
    const { stage, index } = this.options
    for (const job of jobs) {
      if (cloneable(job.item)) good.push(job)
      else {
        job.client.jobDone(
          job,
          THROWN,
          new ThreadError('unsendable', `stage "${stage}": the item could not be sent to worker thread ${index}: ${messageOf(error)} (items cross by structured clone: no functions, symbols or class instances with private state)`, {
            cause: error,
          }),
        )
      }
    }
    if (good.length === 0) return
    if (good.length === jobs.length && !withTransfers) {
      for (const job of good) job.client.jobDone(job, THROWN, new ThreadError('unsendable', `stage "${stage}": a batch could not be sent to worker thread ${index}: ${messageOf(error)}`, { cause: error }))
      return
    }
    this.send(good, false)
  }

  private readonly onPostError = (message: unknown, error: unknown): unknown => {
    this.postError = error
    // The env goes to the thread once, with `init`: what can't be cloned is left out, and reading it there says why.
    const msg = message as { type?: string; path?: string[]; argumentList?: { type: string; value: InitInfo }[] }
    if (!isDataCloneError(error) || msg.type !== 'APPLY' || msg.path?.[0] !== 'init') return undefined
    const wire = msg.argumentList?.[0]
    if (wire === undefined || wire.type !== 'RAW') return undefined
    const info = wire.value
    const { env, dropped } = cloneableEnv(info.env)
    const seed = cloneable(info.seed) ? info.seed : undefined
    this.postError = undefined
    if (dropped !== undefined && !this.options.group.envLogged) {
      this.options.group.envLogged = true
      this.options.log.warn(`[${this.options.stage}] ctx.env keys not available in worker threads (they can't be cloned): ${Object.keys(dropped).join(', ')}`)
    }
    return { ...msg, argumentList: [{ type: 'RAW', value: { ...info, env, envDropped: dropped, seed } }] }
  }

  private onMessage(message: unknown, generation: number): void {
    if (typeof message !== 'object' || message === null) return
    if (SALVAGE_KEY in message) return this.salvaged(generation, message as SalvageMessage)
    if (!(LOG_KEY in message)) return
    const { [LOG_KEY]: level, message: text, details } = message as LogMessage
    const log = this.options.log
    if (typeof log[level] === 'function') log[level](text, ...details)
  }

  /** The thread is exiting mid-batch and sent what the batch's finished items gave: deliver those (see `lost`). */
  private salvaged(generation: number, message: SalvageMessage): void {
    if (generation !== this.generation) return
    const first = message[SALVAGE_KEY]
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

  /** Hands a job its outcome, unless it has been given up or sent again since. */
  private deliver(job: Job, id: number, kind: number, value: unknown): void {
    if (!job.live || job.id !== id) {
      if (this.options.stats !== undefined) this.options.stats.discarded++
      return
    }
    job.id = 0
    job.client.jobDone(job, kind, kind === THROWN || kind === LEFT ? fromWire(value) : value)
  }

  // ---- replies -------------------------------------------------------------------

  private onReply(generation: number, count: number, reply: Reply): void {
    if (generation !== this.generation) return
    this.inFlight--
    this.crashStreak = 0
    const { stats, timing, batchMs, maxBatch } = this.options
    if (stats !== undefined && timing) stats.busyMs += reply.busyMs
    const sample = reply.busyMs / count
    this.itemMs = this.itemMs < 0 ? sample : this.itemMs * 0.7 + sample * 0.3
    this.batchSize = Math.max(1, Math.min(maxBatch, Math.floor(batchMs / Math.max(this.itemMs, 0.0005))))
    const done: Sent[] = new Array(count)
    for (let i = 0; i < count; i++) done[i] = this.sent.shift()
    if (this.sent.length === 0) this.clearTimer()
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
    if (generation !== this.generation) return
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

  // ---- timeouts ------------------------------------------------------------------

  /** Looks at what the thread is running; fails it once it runs past the timeout, replaces the thread if it won't stop. */
  private readonly check = (): void => {
    this.timer = undefined
    if (!this.ready || this.sent.length === 0) return
    const timeout = this.options.timeout
    const id = Atomics.load(this.progressIds, 0)
    const startedAt = this.progressTimes[0]!
    const now = epochNow()
    let next: number
    const entry = this.findSent(id)
    if (entry !== undefined && entry.job.live && entry.job.id === id) {
      const deadline = startedAt + timeout
      if (now >= deadline) {
        const job = entry.job
        job.id = 0
        const error = new TimeoutError(this.options.stage, timeout)
        this.abort([id], error)
        this.stuck = { id, since: now }
        job.client.jobDone(job, THROWN, error)
        if (this.worker === undefined) return
        next = now + threadTunables.stuckGraceMs
      } else next = deadline
    } else if (this.stuck !== undefined && this.stuck.id === id) {
      if (now >= this.stuck.since + threadTunables.stuckGraceMs) return this.replaceStuck()
      next = this.stuck.since + threadTunables.stuckGraceMs
    } else next = now + timeout
    if (this.sent.length > 0) this.timer = setTimeout(this.check, Math.max(1, Math.ceil(next - now)))
  }

  private findSent(id: number): Sent | undefined {
    const sent = this.sent
    for (let i = 0; i < sent.length; i++) {
      const entry = sent.at(i)
      if (entry.id === id) return entry
      if (entry.id > id) return undefined
    }
    return undefined
  }

  /** An item ran past its timeout and kept the thread busy past the grace period: replace the thread. */
  private replaceStuck(): void {
    const { stage, index, timeout } = this.options
    this.options.log.warn(`[${stage}] thread ${index} is stuck on an item that timed out (${timeout} ms); replacing it`)
    this.replace(
      new ThreadError(
        'replaced',
        `stage "${stage}": worker thread ${index} was replaced because an item ran past its ${timeout} ms timeout and did not stop; this item's result was lost with it`,
      ),
    )
  }

  /** Gives up a thread that still runs but can't be used: items it started fail with `error`, the rest go to a new thread. */
  private replace(error: ThreadError): void {
    const worker = this.worker
    this.worker = undefined
    this.generation++
    const failed = this.lost()
    if (worker !== undefined) this.terminate(worker)
    this.spawn()
    this.fail(failed, error)
  }


  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  private abort(ids: number[], reason: unknown): void {
    if (this.abortFn === undefined) return
    // Fire and forget: if the thread is gone, there is nothing left to abort.
    this.abortFn(ids, toWire(reason)).then(noop, noop)
  }

  // ---- lifetime --------------------------------------------------------------------

  /** Keeps the process alive only while the thread has work: an abandoned pipeline never holds the process open. */
  private updateRef(): void {
    const worker = this.worker
    if (worker === undefined) return
    const want = this.inFlight > 0 || this.pending.length > 0
    if (want === this.refd) return
    this.refd = want
    if (want) worker.ref()
    else worker.unref()
  }

  /**
   * Ends the thread: an item running in it gets its signal aborted and a moment to stop, then it is
   * terminated. A thread running no item (still starting, or between items) is terminated at once.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing
    this.closed = true
    this.clearTimer()
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer)
      this.restartTimer = undefined
    }
    for (let i = 0; i < this.pending.length; i++) this.pending.at(i).live = false
    this.pending.clear()
    const worker = this.worker
    const ending = [...this.ending]
    if (worker === undefined) return (this.closing = ending.length === 0 ? Promise.resolve() : Promise.all(ending).then(noop))
    const generation = this.generation
    this.closing = (async () => {
      if (this.inFlight > 0 && this.ready && this.abortFn !== undefined && Atomics.load(this.progressIds, 0) > 0) {
        // Items still in the thread see their signal abort (their listeners run) before it ends: comlink answers
        // the abort call once the thread has run it. A thread too busy to take it in time is terminated anyway.
        const ids: number[] = []
        for (let i = 0; i < this.sent.length; i++) ids.push(this.sent.at(i).id)
        const taken = this.abortFn(ids, toWire(this.cancelReason ?? new Error('the stage stopped')))
        let timer: ReturnType<typeof setTimeout> | undefined
        await new Promise<void>((resolve) => {
          taken.then(() => resolve(), () => resolve())
          timer = setTimeout(resolve, threadTunables.closeGraceMs)
          worker.once('exit', () => resolve())
        })
        clearTimeout(timer)
      }
      if (generation === this.generation) this.generation++
      this.worker = undefined
      await Promise.all([this.terminate(worker), ...ending])
    })()
    return this.closing
  }
}

/** The env, or the part of it that can be cloned, with why each other key was left out. */
function cloneableEnv(env: unknown): { env: unknown; dropped: Record<string, string> | undefined } {
  if (cloneable(env)) return { env, dropped: undefined }
  if (typeof env !== 'object' || env === null) return { env: undefined, dropped: { '(env)': `a ${typeof env} can't be cloned` } }
  const kept: Record<string, unknown> = {}
  const dropped: Record<string, string> = {}
  for (const key of Object.keys(env)) {
    const value = (env as Record<string, unknown>)[key]
    if (cloneable(value)) kept[key] = value
    else dropped[key] = typeof value === 'function' ? "a function can't be cloned into a worker thread" : "it holds something that can't be cloned into a worker thread (a function, a symbol, a handle…)"
  }
  return { env: kept, dropped }
}
