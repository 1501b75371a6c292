import { messageOf } from '../../result/stage-error.js'
import { ThreadConnection } from './thread-connection.js'
import { ThreadError, threadTunables, type HostOptions, type Job } from './thread-job.js'
import { fromWire, type Batch, type InitReply, type Reply, type SalvageMessage, type Transferable } from './thread-protocol.js'

/*
 * The life of a host's worker thread: start it (and send `init`), tell a
 * failed load (retried with backoff, then given up for the whole stage) from a
 * crash (replaced at once, then with backoff), replace a thread that can't be
 * used, keep the process alive only while there is work, and close it.
 *
 * Death is never learnt from a call: the thread's 'exit' event says it, and a
 * reply or event from an earlier thread (an older `generation`) is ignored.
 * An exit is a failed load only while the module has not loaded (the thread
 * flags that in the progress buffer as soon as it has).
 */

/** Tries at starting a thread whose module fails to load, before the stage gives up. */
export const MAX_LOAD_ATTEMPTS = 3
const LOAD_BACKOFF_MS = 100
const CRASH_BACKOFF_MS = 50
const MAX_BACKOFF_MS = 2_000

/** What the lifecycle needs from the host that batches items into the thread. */
export interface LifecycleOwner {
  /** A thread can take batches (its `init` is on its way, and batches queue behind it there). */
  readonly flush: () => void
  /** The thread is gone: what it had not started is queued again; what it had started is returned, to fail. */
  lost(): Job[]
  fail(jobs: Job[], error: ThreadError): void
  /** The stage gave up on threads: every job held fails with `error`. */
  failAll(error: ThreadError): void
  salvaged(message: SalvageMessage): void
  /** The module loaded, or the thread gave up for good. */
  loadSettled(): void
}

const noop = (): void => {}

export class ThreadLifecycle {
  /** The thread, while it lives. */
  private current: ThreadConnection | undefined
  /** The thread batches go to: set once `init` is on its way (batches queue behind it there), cleared when it is given up. */
  private calls: ThreadConnection | undefined
  /** Bumped whenever the current thread is given up: replies and events of an older one are ignored. */
  generation = 0
  /** The thread's module has loaded (`init` replied). Until then an exit is a failed load, not a crash. */
  loaded = false
  closed = false
  private closing: Promise<void> | undefined
  private loadFailures = 0
  private crashStreak = 0
  private restartTimer: ReturnType<typeof setTimeout> | undefined
  /** Threads given up and told to terminate: close() waits for them too. */
  private readonly ending = new Set<Promise<unknown>>()
  /** Set when the thread can't be started: every item fails with it. */
  dead: ThreadError | undefined

  constructor(
    private readonly options: HostOptions,
    private readonly owner: LifecycleOwner,
  ) {}

  /** Batches may be sent. */
  get ready(): boolean {
    return this.calls !== undefined
  }

  /** No thread, and none about to start: the next item starts one. */
  get idle(): boolean {
    return this.current === undefined && this.restartTimer === undefined
  }

  get alive(): boolean {
    return this.current !== undefined
  }

  /** The id of the item the thread is running, or minus the last one's when it runs none. */
  runningId(): number {
    return this.calls?.runningId() ?? 0
  }

  /** When the running item started, epoch ms. */
  startedAt(): number {
    return this.calls!.startedAt()
  }

  /** Sends a batch (only while `ready`); undefined when it could not be cloned (`sendError` says why): then nothing left. */
  run(batch: Batch, transfers: Set<Transferable> | undefined): Promise<Reply> | undefined {
    return this.calls!.run(batch, transfers)
  }

  get sendError(): unknown {
    return this.calls?.sendError
  }

  /** Fire and forget: if the thread is gone, there is nothing left to abort. */
  abort(ids: number[], reason: unknown): void {
    this.calls?.abort(ids, reason).then(noop, noop)
  }

  // ---- starting ------------------------------------------------------------------

  start(): void {
    if (this.closed || this.dead !== undefined || this.current !== undefined) return
    const failure = this.options.group.failure
    if (failure !== undefined) return this.giveUp(failure)
    const generation = ++this.generation
    let thread: ThreadConnection
    try {
      thread = this.connect(generation)
    } catch (error) {
      // Node refused the Worker's options (an execArgv flag threads can't take): no thread will ever start.
      return this.loadFailed(error, true)
    }
    this.current = thread
    this.loaded = false
    thread.init().then(
      (reply) => this.initDone(generation, reply),
      (error) => this.initDone(generation, { ok: false, error }),
    )
    // The first batch goes right behind `init`, saving a round trip before the first item.
    this.calls = thread
    this.owner.flush()
  }

  private connect(generation: number): ThreadConnection {
    const { stage, index, log } = this.options
    const thread: ThreadConnection = new ThreadConnection(this.options, {
      exited: (code, crash) => generation === this.generation && this.exited(thread, code, crash),
      unreadable: (error) => {
        // A reply that can't be read would leave its batch waiting forever: give the thread up instead.
        if (generation !== this.generation || this.closed) return
        log.error(`[${stage}] a message from thread ${index} could not be read: ${messageOf(error)}; replacing the thread`)
        this.replace(new ThreadError('crashed', `stage "${stage}": a reply from worker thread ${index} could not be read: ${messageOf(error)}`, { cause: error }))
      },
      salvaged: (message) => generation === this.generation && this.owner.salvaged(message),
    })
    return thread
  }

  private initDone(generation: number, reply: InitReply): void {
    if (generation !== this.generation || this.closed) return
    if (reply.ok) {
      this.loaded = true
      this.loadFailures = 0
      return this.owner.loadSettled()
    }
    // The thread is alive but its module is not: take back the batches sent behind `init` (none ran),
    // stop the thread and count a failed load.
    const cause = fromWire(reply.error)
    this.takeBack(cause)
    this.drop()
    this.loadFailed(cause, reply.permanent === true)
  }

  /** The thread never loaded: what was sent to it goes back to the queue for the next one. */
  private takeBack(cause: unknown): void {
    const ran = this.owner.lost()
    if (ran.length > 0) this.owner.fail(ran, new ThreadError('load', `stage "${this.options.stage}": worker thread ${this.options.index} failed while loading: ${messageOf(cause)}`, { cause }))
  }

  private loadFailed(cause: unknown, permanent: boolean): void {
    this.loadFailures++
    const { stage, index, group, log } = this.options
    if (permanent || this.loadFailures >= MAX_LOAD_ATTEMPTS || group.failure !== undefined) {
      const tries = permanent ? '' : ` (${this.loadFailures} attempt${this.loadFailures === 1 ? '' : 's'})`
      const error = group.failure ?? new ThreadError('load', `stage "${stage}": worker thread could not start${tries}: ${messageOf(cause)}`, { cause })
      const first = group.failure === undefined
      group.failure = error
      return this.giveUp(error, first)
    }
    log.warn(`[${stage}] thread ${index} failed to start (attempt ${this.loadFailures} of ${MAX_LOAD_ATTEMPTS}): ${messageOf(cause)}`)
    this.startAfter(Math.min(LOAD_BACKOFF_MS * 2 ** (this.loadFailures - 1), MAX_BACKOFF_MS))
  }

  private giveUp(error: ThreadError, first = false): void {
    if (this.dead !== undefined) return
    this.dead = error
    if (first) this.options.log.error(`[${this.options.stage}] ${error.message}`)
    this.owner.failAll(error)
    this.owner.loadSettled()
  }

  private startAfter(ms: number): void {
    if (this.closed) return
    if (ms <= 0) return this.start()
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      this.start()
    }, ms)
  }

  // ---- losing the thread ----------------------------------------------------------

  /** Drops what belonged to the thread given up (the owner forgets its side in `lost`). */
  forget(): void {
    this.calls = undefined
  }

  /** Forgets the current thread (its late events are ignored) and terminates it. */
  private drop(): void {
    const thread = this.current
    this.generation++
    this.current = undefined
    this.forget()
    if (thread !== undefined) this.terminate(thread)
  }

  private terminate(thread: ThreadConnection): Promise<unknown> {
    const ending = thread.terminate()
    this.ending.add(ending)
    ending.then(() => this.ending.delete(ending))
    return ending
  }

  private exited(thread: ThreadConnection, code: number, crash: unknown): void {
    this.current = undefined
    this.generation++
    if (this.closed) return
    const { stage, index } = this.options
    // The flag is set in the thread as soon as the module loads, before `init`'s reply could get here.
    if (!this.loaded && thread.loaded) {
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
    const failed = this.owner.lost()
    this.crashStreak++
    // The replacement (or its backoff) comes first: failing the lost items lets their owner submit more at once.
    this.startAfter(this.crashStreak <= 1 ? 0 : Math.min(CRASH_BACKOFF_MS * 2 ** (this.crashStreak - 2), MAX_BACKOFF_MS))
    this.owner.fail(failed, new ThreadError('crashed', `stage "${stage}": worker thread ${index} ${why}`, { cause: crash }))
  }

  /** A batch came back: the thread is working, so a later crash starts its replacement at once. */
  replied(): void {
    this.crashStreak = 0
  }

  /** Gives up a thread that still runs but can't be used: items it started fail with `error`, the rest go to a new thread. */
  replace(error: ThreadError): void {
    const thread = this.current
    this.current = undefined
    this.generation++
    const failed = this.owner.lost()
    if (thread !== undefined) this.terminate(thread)
    this.start()
    this.owner.fail(failed, error)
  }

  // ---- lifetime -------------------------------------------------------------------

  /** Keeps the process alive only while the thread has work: an abandoned pipeline never holds the process open. */
  ref(want: boolean): void {
    this.current?.ref(want)
  }

  /**
   * Ends the thread: items running in it (`inFlight`, ids of what it holds) get their signal aborted
   * and a moment to stop, then it is terminated. A thread running no item is terminated at once.
   */
  close(inFlight: number[] | undefined, reason: unknown): Promise<void> {
    if (this.closing !== undefined) return this.closing
    this.closed = true
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer)
      this.restartTimer = undefined
    }
    const thread = this.current
    const ending = [...this.ending]
    if (thread === undefined) return (this.closing = ending.length === 0 ? Promise.resolve() : Promise.all(ending).then(noop))
    const generation = this.generation
    const calls = this.calls
    this.closing = (async () => {
      if (inFlight !== undefined && calls !== undefined && calls.runningId() > 0) {
        // Items still in the thread see their signal abort (their listeners run) before it ends: comlink answers
        // the abort call once the thread has run it. A thread too busy to take it in time is terminated anyway.
        const taken = calls.abort(inFlight, reason)
        let timer: ReturnType<typeof setTimeout> | undefined
        await new Promise<void>((resolve) => {
          taken.then(() => resolve(), () => resolve())
          timer = setTimeout(resolve, threadTunables.closeGraceMs)
          thread.onExit(() => resolve())
        })
        clearTimeout(timer)
      }
      if (generation === this.generation) this.generation++
      this.current = undefined
      await Promise.all([this.terminate(thread), ...ending])
    })()
    return this.closing
  }
}
