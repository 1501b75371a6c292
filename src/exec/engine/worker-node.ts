import type { Either } from 'fp-ts/lib/Either.js'
import type { StageContext, WorkerState } from '../context.js'
import { logsAt } from '../logger.js'
import { describeValue } from '../../result/describe.js'
import type { StageStats } from '../stats.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind, mkLeft, mkRight } from '../../result/either.js'
import { StageError, messageOf } from '../../result/stage-error.js'
import { END, EMPTY, Node, type AnySource } from './node.js'
import { Queue } from './queue.js'
import { ReplayLane } from './replay-lane.js'
import type { ReplayHolder, ReplayOrigin, ReplaySink } from './replay.js'
import { kReplay } from '../../result/stage-error.js'
import type { Runner, WorkerConfig, WorkerOwner } from './runner.js'
import { disposeAll } from './worker.js'

/** How one pool/mix/fork stage is built. */
export interface StageSpec {
  readonly name: string
  readonly buffer: number
  readonly ordered: boolean
  readonly retries: number
  readonly timeout: number
  readonly init: ((ctx: StageContext<unknown>) => unknown) | undefined
  readonly dispose: ((state: WorkerState, ctx: StageContext<unknown>) => unknown) | undefined
  /** How many runners (workers, or fork slots) the stage may have (`Infinity`: no limit); they are created as items need them. */
  readonly slots: number
  /** Runner `index`; `handlerIndex` picks the handler where a stage has several (mix). */
  createRunner(config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner
  /** Which handler runner `index` runs. */
  handlerIndexOf(index: number): number
  /**
   * Decides which inputs go to a runner (given as they are); the rest pass
   * through in place. Default: `Left`s pass, `Right`s are unwrapped for the handler.
   */
  admit?(item: unknown): boolean
  /** Runners report finished `Either`s (retry) rather than handler values. */
  readonly rawResults?: boolean
}

/**
 * The spec a node works from, copied into one class shape: specs arrive as
 * object literals and spreads, whose hidden classes a full GC can drop between
 * runs, and optimised code that saw the old ones would deoptimise every run.
 */
class FixedSpec implements StageSpec {
  readonly name: string
  readonly buffer: number
  readonly ordered: boolean
  readonly retries: number
  readonly timeout: number
  readonly init: StageSpec['init']
  readonly dispose: StageSpec['dispose']
  readonly slots: number
  readonly createRunner: StageSpec['createRunner']
  readonly handlerIndexOf: StageSpec['handlerIndexOf']
  readonly admit: StageSpec['admit']
  readonly rawResults: boolean

  constructor(spec: StageSpec) {
    this.name = spec.name
    this.buffer = spec.buffer
    this.ordered = spec.ordered
    this.retries = spec.retries
    this.timeout = spec.timeout
    this.init = spec.init
    this.dispose = spec.dispose
    this.slots = spec.slots
    this.createRunner = spec.createRunner
    this.handlerIndexOf = spec.handlerIndexOf
    this.admit = spec.admit
    this.rawResults = spec.rawResults ?? false
  }
}

/** A stage's worker settings in one class shape (see FixedSpec). */
class FixedConfig implements WorkerConfig {
  constructor(
    readonly stats: StageStats,
    readonly scope: WorkerConfig['scope'],
    readonly signal: AbortSignal,
    readonly retries: number,
    readonly timeout: number,
    readonly init: WorkerConfig['init'],
    readonly dispose: WorkerConfig['dispose'],
  ) {}
}

const HOLE: unique symbol = Symbol('hole')
/** The ordered ring's first size; it grows as results wait behind slower ones. */
const RING_START = 16
/** A stage without a worker limit pulls at most this many items per turn of the event loop. */
const PULLS_PER_TURN = 4096

/** An item a downstream `retry` asked this stage to run again. */
interface ReplayJob {
  readonly item: unknown
  readonly priorErrors: unknown[] | null
  readonly handlerIndex: number
  sink: ReplaySink | null
  /** This stage already counted the item as failed (it is retrying its own failure). */
  readonly recovering: boolean
}
type Out = Either<StageError, unknown>

/**
 * The engine behind `pool`, `mix` and `fork`: a bounded input queue feeding
 * `slots` runners, optional reordering, and the accounting. The stage holds at
 * most `buffer + slots` items (queued, in flight, waiting for order, or done and
 * not yet taken), and pulls from upstream only while it is below that.
 */
export class WorkerNode extends Node<Out> implements WorkerOwner, ReplayOrigin, ReplayHolder {
  readonly stats: StageStats
  private readonly config: WorkerConfig
  /** Runners by index, created as items need them: a new one only when none is free (see `free`). */
  private readonly runners: Runner[] = []
  private created = 0
  /** The lowest index that may still be free in `runners`. */
  private nextIndex = 0
  private readonly idle: Runner[] = []
  /** Multi-item runners (worker threads that batch): not in `idle`; they take items while below their limit. */
  private readonly multi: Runner[] = []
  private readonly queueItems = new Queue<unknown>(4)
  private readonly queueSeqs = new Queue<number>(4)
  /**
   * The holding bound: buffer + single-item runners (multi-item runners add their current limits, see `capacity`).
   * With `slots: Infinity` there is none: the stage pulls as fast as its source gives, as `p-map` does.
   */
  private cap: number
  private broken = 0
  private seq = 0
  private inFlight = 0
  // Ordered output: results waiting for earlier ones, in a ring indexed by sequence number. It
  // starts small and doubles when a result lands further ahead than it reaches (see `deliver`).
  private ring: (Out | typeof HOLE)[] | undefined
  private head = 0
  private waiting = 0
  // Replays from a downstream `retry` run on this stage's own workers, ahead of new input. They
  // carry negative sequence numbers, which is how `settled` tells them from ordinary items.
  private replayQueue: Queue<ReplayJob> | undefined
  private readonly replayJobs = new Map<number, ReplayJob>()
  private replaySeq = 0
  /** Downstream retries that may still replay here: the workers outlive the stage's own end until they release it. */
  private retainers = 0
  private disposeDeferred = false
  private workersDisposed = false
  /** Where replays run once this stage's own workers can't take them (see ReplayLane). */
  private lane: ReplayLane | undefined
  /** A retry: the stages it keeps able to replay, released when it ends. */
  private holding: ReplayOrigin[] | undefined
  private released = false
  /** Emitted a `Left` that may end the run (see RunState.haltOnLeft): start nothing until `resume`. */
  private halted = false

  private readonly spec: FixedSpec

  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, spec: StageSpec) {
    super(source, signal)
    this.spec = spec = new FixedSpec(spec)
    this.stats = this.scope.run.register(spec.name)
    this.config = new FixedConfig(this.stats, this.scope, this.ac.signal, spec.retries, spec.timeout, spec.init, spec.dispose)
    this.cap = spec.buffer + spec.slots
    if (spec.ordered) this.ring = new Array<Out | typeof HOLE>(Math.min(this.cap, RING_START)).fill(HOLE)
  }

  /** Creates runner `index`; the caller gives it an item at once. */
  private createRunner(index: number): Runner {
    const runner = this.spec.createRunner(this.config, this, index, this.spec.handlerIndexOf(index))
    this.runners[index] = runner
    this.stats.workers = ++this.created
    if (runner.limit !== undefined) {
      // It holds up to its limit rather than one item (see `capacity`).
      this.multi.push(runner)
      this.cap--
    }
    return runner
  }

  /** A new runner at the lowest free index (the caller checked that the stage may have one more). */
  private grow(): Runner {
    while (this.runners[this.nextIndex] !== undefined) this.nextIndex++
    return this.createRunner(this.nextIndex++)
  }

  protected work(): void {
    if (this.halted) return
    if (this.created === 0) {
      // The first worker is ready when the stage starts; the others come as items need them (see `free`).
      // (Made here, the hot path never sees `grow` on a stage of one busy worker, which keeps it small for V8.)
      const runner = this.grow()
      if (runner.limit === undefined) this.idle.push(runner)
      this.stats.startedAt = performance.now()
    }
    const queueItems = this.queueItems
    let pulls = 0
    for (;;) {
      if (this.replayQueue !== undefined && this.replayQueue.length > 0) this.dispatchReplays()
      if (queueItems.length > 0) {
        for (;;) {
          const runner = this.free()
          if (runner === undefined) break
          this.start(runner, queueItems.shift(), this.queueSeqs.shift())
          if (queueItems.length === 0) break
        }
        if (queueItems.length > 0 && (this.broken > 0 || this.multi.length > 0) && this.allBroken()) this.failQueued()
      }
      if (this.stopped || this.upstreamDone) break
      if (queueItems.length + this.inFlight + this.waiting + this.outputs.length >= (this.multi.length === 0 ? this.cap : this.capacity())) break
      if (this.cap === Infinity && this.unboundedFull(++pulls)) break
      const item = this.pull()
      // Pulling can run upstream handlers synchronously, and one of them may have killed the run.
      if (item === EMPTY || item === END) break
      if (this.stopped) {
        this.stats.cancelled++
        break
      }
      this.accept(item)
    }
    if (this.upstreamDone && !this.stopped && queueItems.length === 0 && this.inFlight === 0 && this.waiting === 0 && !this.stats.endedAt) {
      this.stats.endedAt = performance.now()
      this.complete()
    }
  }

  /**
   * With no limit on workers (`concurrency: Infinity`), `buffer + workers` bounds nothing: the
   * stage starts every item it can pull, as p-map does, but stops pulling while more than
   * `buffer` finished items wait (for order, or for the consumer), and lets the event loop run
   * every PULLS_PER_TURN pulls (it would drain a synchronous source in one go).
   */
  private unboundedFull(pulls: number): boolean {
    if (this.queueItems.length + this.waiting + this.outputs.length > this.spec.buffer) return true
    if (pulls <= PULLS_PER_TURN) return false
    this.halt()
    return true
  }

  private accept(item: unknown): void {
    const seq = this.seq++
    if (this.spec.admit !== undefined) {
      if (!this.spec.admit(item)) {
        if (this.scope.run.haltOnLeft && eitherKind(item) === KIND_LEFT) this.halt()
        return this.deliver(seq, item as Out)
      }
    } else {
      const kind = eitherKind(item)
      if (kind === KIND_LEFT) {
        this.notePassage((item as { left: unknown }).left)
        if (this.scope.run.haltOnLeft) this.halt()
        return this.deliver(seq, item as Out)
      }
      if (kind === KIND_RIGHT) item = (item as { right: unknown }).right
    }
    const runner = this.free()
    if (runner !== undefined) this.start(runner, item, seq)
    else {
      this.queueItems.push(item)
      this.queueSeqs.push(seq)
    }
  }

  /**
   * A runner that can take an item now: an idle one, else the least loaded
   * multi-item runner below its limit. A new runner is created only when none
   * is idle (a multi-item runner holding nothing counts as idle), so a stage
   * has no more runners than the most items it ever had at once (and one).
   */
  private free(): Runner | undefined {
    if (this.idle.length > 0) return this.idle.pop()
    if (this.multi.length === 0) return this.created < this.spec.slots ? this.grow() : undefined
    return this.freeMulti()
  }

  private freeMulti(): Runner | undefined {
    let best: Runner | undefined
    for (const runner of this.multi) {
      if (runner.broken !== undefined || runner.held! >= runner.limit!()) continue
      if (best === undefined || runner.held! < best.held!) best = runner
    }
    if ((best === undefined || best.held! > 0) && this.created < this.spec.slots) return this.grow()
    return best
  }

  /*
   * Multi-item runners (worker threads that take items in batches, see
   * Runner.limit) hold up to `limit()` items each instead of one, and that limit
   * grows and shrinks with how long items take. The stage then holds at most
   * buffer + single-item runners + the sum of those limits: still every item it
   * holds is queued (at most `buffer`), in a runner, waiting for order or output.
   */
  private capacity(): number {
    if (this.multi.length === 0) return this.cap
    let cap = this.cap
    for (const runner of this.multi) if (runner.broken === undefined) cap += runner.limit!()
    return cap
  }

  private allBroken(): boolean {
    let broken = this.broken
    for (const runner of this.multi) if (runner.broken !== undefined) broken++
    return broken === this.spec.slots
  }

  private start(runner: Runner, item: unknown, seq: number): void {
    this.inFlight++
    this.stats.inFlight++
    runner.run(item, seq)
  }

  settled(runner: Runner, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    if (runner.seq < 0) return this.replaySettled(runner, item, ok, value, errors)
    this.inFlight--
    this.stats.inFlight--
    let result: Out
    if (this.spec.rawResults) {
      result = value as Out
      if (result._tag === 'Right') this.stats.processed++
      else {
        this.stats.failed++
        if (this.scope.run.haltOnLeft) this.halt()
      }
    } else if (ok) {
      this.stats.processed++
      result = mkRight(value)
    } else {
      this.stats.failed++
      result = mkLeft(this.stageError(item, errors!, runner.handlerIndex))
      if (this.scope.run.haltOnLeft) this.halt()
    }
    if (runner.held === undefined) {
      if (runner.broken === undefined) this.idle.push(runner)
      else this.broken++
    }
    const held = this.outputs.length + this.waiting
    this.deliver(runner.seq, result)
    // The item only moved from in flight to the output (the stage holds as many
    // as before): unless something waits for the free runner, the next `take`
    // pumps. Saves a pass through `work` per item. When the output count did not
    // grow (a reader took the item at once, or a fused values() dropped Lefts),
    // no `take` is coming, so pump now.
    if (this.queueItems.length > 0 || this.upstreamDone || this.outputs.length + this.waiting <= held || this.multi.length > 0 || this.replayQueue !== undefined) this.pump()
  }

  // ---- replays for a downstream retry ----------------------------------------

  /** A `Left` from an earlier stage passes through here: if it is retried and recovers, it must still come through this stage. */
  private notePassage(error: unknown): void {
    if (!(error instanceof StageError)) return
    const target = error[kReplay]
    if (target !== undefined && target.origin !== this) (target.path ??= []).push(this)
  }

  replay(item: unknown, priorErrors: unknown[] | null, handlerIndex: number, sink: ReplaySink, recovering: boolean): void {
    const job: ReplayJob = { item, priorErrors, handlerIndex, sink, recovering }
    if (this.stopped || this.workersDisposed) return this.toLane(job, false)
    ;(this.replayQueue ??= new Queue<ReplayJob>(4)).push(job)
    this.pump()
  }

  /** Runs a replay on the lane (see ReplayLane), kept until the sink's retry releases this stage; `later`: from the next microtask. */
  private toLane(job: ReplayJob, later: boolean): void {
    const sink = job.sink!
    if (sink.holder.hold(this)) this.retainers++
    ;(this.lane ??= new ReplayLane(this.spec, this.config, this)).run(job.item, job.priorErrors, job.handlerIndex, sink, job.recovering, later)
  }

  /** This stage stopped (an IxJS `take` below closed it) while a live retry waits for replays here: they go on on the lane. */
  private moveReplays(): void {
    let jobs: ReplayJob[] | undefined
    for (const job of this.replayJobs.values()) if (job.sink !== null) (jobs ??= []).push(job)
    const queue = this.replayQueue
    if (queue !== undefined) for (let i = 0; i < queue.length; i++) if (queue.at(i).sink !== null) (jobs ??= []).push(queue.at(i))
    this.replayQueue?.clear()
    this.replayJobs.clear()
    // Not while the run itself is ending: its retries are stopping too.
    if (jobs !== undefined && this.scope.run.failure === undefined) for (const job of jobs) this.toLane(job, true)
  }

  forget(sink: ReplaySink): void {
    this.lane?.forget(sink)
    for (const job of this.replayJobs.values()) if (job.sink === sink) job.sink = null
    const queue = this.replayQueue
    if (queue === undefined) return
    for (let i = queue.length; i > 0; i--) {
      const job = queue.shift()
      if (job.sink !== sink) queue.push(job)
    }
  }

  private dispatchReplays(): void {
    const queue = this.replayQueue!
    while (queue.length > 0) {
      const job = queue.peek()
      if (job.sink === null) {
        queue.shift()
        continue
      }
      const runner = this.freeFor(job.handlerIndex)
      if (runner === undefined) {
        const cause = this.deadFor(job.handlerIndex)
        if (cause === undefined) break
        // No worker will ever take it (their `init` failed): it fails with that error, as queued items do.
        queue.shift()
        if (!job.recovering) this.stats.failed++
        job.sink.replayed(this, job.item, false, undefined, [...(job.priorErrors ?? []), cause], job.handlerIndex)
        continue
      }
      queue.shift()
      const seq = --this.replaySeq
      this.replayJobs.set(seq, job)
      this.inFlight++
      this.stats.inFlight++
      if (job.recovering) this.stats.retried++
      runner.run(job.item, seq, job.priorErrors, job.recovering ? 0 : undefined)
    }
  }

  /** A free runner of handler `handlerIndex` (any free runner where the stage has one handler). */
  private freeFor(handlerIndex: number): Runner | undefined {
    if (this.spec.handlerIndexOf(this.spec.slots - 1) === 0) return this.free()
    for (let i = this.idle.length - 1; i >= 0; i--) if (this.idle[i]!.handlerIndex === handlerIndex) return this.idle.splice(i, 1)[0]
    for (const runner of this.multi) if (runner.handlerIndex === handlerIndex && runner.broken === undefined && runner.held! < runner.limit!()) return runner
    // A stage of several handlers (mix) has few runners: that handler's may not exist yet.
    for (let i = 0; i < this.spec.slots; i++) if (this.runners[i] === undefined && this.spec.handlerIndexOf(i) === handlerIndex) return this.createRunner(i)
    return undefined
  }

  /** Why no runner of handler `handlerIndex` can ever run an item (their `init` failed), else undefined. */
  private deadFor(handlerIndex: number): unknown {
    if (this.spec.handlerIndexOf(this.spec.slots - 1) === 0) return this.allBroken() ? (this.runners[0]?.broken ?? new Error('init failed')) : undefined
    for (const runner of this.runners) if (runner !== undefined && runner.handlerIndex === handlerIndex) return runner.broken
    return undefined
  }

  private replaySettled(runner: Runner, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    const job = this.replayJobs.get(runner.seq)!
    this.replayJobs.delete(runner.seq)
    this.inFlight--
    this.stats.inFlight--
    if (ok) {
      this.stats.processed++
      if (job.recovering) this.stats.failed--
    } else if (!job.recovering) this.stats.failed++
    if (runner.held === undefined) {
      if (runner.broken === undefined) this.idle.push(runner)
      else this.broken++
    }
    job.sink?.replayed(this, item, ok, value, errors, runner.handlerIndex)
    this.pump()
  }

  hold(origin: ReplayOrigin): boolean {
    if (!this.spec.rawResults || this.released) return false
    const holding = (this.holding ??= [])
    if (holding.includes(origin)) return false
    holding.push(origin)
    return true
  }

  release(): Promise<void> | undefined {
    if (--this.retainers > 0) return undefined
    let disposing: Promise<void> | undefined
    if (this.disposeDeferred) {
      this.disposeDeferred = false
      disposing = this.disposeWorkers(undefined)
    }
    const lane = this.lane
    this.lane = undefined
    const closing = lane?.close()
    return closing === undefined ? disposing : disposing === undefined ? closing : Promise.all([disposing, closing]).then(() => {})
  }

  private stageError(item: unknown, errors: unknown[], handlerIndex: number): StageError {
    const error = new StageError(this.stats.name, item, errors, { origin: this, handlerIndex })
    const log = this.scope.run.log
    // Built only when read: describing an item is bounded, but a silent run should not pay for it at all.
    if (logsAt(log, 'warn')) {
      log.warn(`[${this.stats.name}] item failed after ${errors.length} attempt${errors.length === 1 ? '' : 's'}: ${messageOf(error.cause)} (item: ${describeValue(item)})`)
    }
    return error
  }

  /** Every runner's `init` failed: nothing can take the queued items, so they fail with that error. */
  private failQueued(): void {
    const cause = this.runners[0]?.broken
    while (this.queueItems.length > 0) {
      const item = this.queueItems.shift()
      const seq = this.queueSeqs.shift()
      this.stats.failed++
      this.deliver(seq, mkLeft(this.stageError(item, [cause], 0)))
    }
  }

  /*
   * Starts nothing until the next turn of the event loop. For p-map's promise:
   * once the failure that ends the run is decided, no handler starts for another
   * item. Whoever decides (run's tally, orThrow, values with failFast) sees the
   * Left after it leaves here, possibly a few promise hops away (an IxJS operator
   * between), and by the next turn the run has ended or has let the Left pass.
   * Also lets the event loop run between sweeps of an unbounded stage.
   */
  private halt(): void {
    if (this.halted) return
    this.halted = true
    setImmediate(this.resume)
  }

  private readonly resume = (): void => {
    this.halted = false
    this.pump()
  }

  private deliver(seq: number, result: Out): void {
    let ring = this.ring
    if (ring === undefined) return this.emit(result)
    if (seq !== this.head) {
      if (seq - this.head >= ring.length) return this.deliverFar(seq, result)
      ring[seq % ring.length] = result
      this.waiting++
      return
    }
    // `emit` can wake the consumer, which pulls, which can deliver here again (and grow the ring): the head moves first.
    this.head++
    this.emit(result)
    for (;;) {
      ring = this.ring!
      const slot = this.head % ring.length
      const next = ring[slot]!
      if (next === HOLE) break
      ring[slot] = HOLE
      this.waiting--
      this.head++
      this.emit(next)
    }
  }

  /** A result further ahead of the head than the ring reaches: double it (or more), keeping each waiting result at its sequence number. */
  private deliverFar(seq: number, result: Out): void {
    const old = this.ring!
    let size = old.length * 2
    while (size <= seq - this.head) size *= 2
    const ring = new Array<Out | typeof HOLE>(size).fill(HOLE)
    for (let s = this.head; s < this.head + old.length; s++) ring[s % size] = old[s % old.length]!
    this.ring = ring
    this.deliver(seq, result)
  }

  protected onStop(): void {
    // Replays are a downstream retry's items, not this stage's: they are not counted as cancelled here.
    this.stats.cancelled += this.queueItems.length + this.inFlight - this.replayJobs.size
    this.stats.inFlight -= this.inFlight
    this.inFlight = 0
    this.queueItems.clear()
    this.queueSeqs.clear()
    if (this.ring !== undefined) this.ring.fill(HOLE)
    this.waiting = 0
    for (const runner of this.runners) if (runner !== undefined && runner.busy) runner.retire()
    this.moveReplays()
    if (this.stats.startedAt && !this.stats.endedAt) this.stats.endedAt = performance.now()
  }

  protected override dispose(): Promise<void> | undefined {
    if (this.spec.rawResults) return this.disposeWorkers(this.releaseHeld())
    if (!this.stopped) {
      // Ended, but a retry downstream (found through the signals, so also past an IxJS
      // operator) may still replay items here: keep the workers until every such retry releases.
      for (let node = this.downstream(); node !== undefined; node = node.downstream()) if (node instanceof WorkerNode && node.hold(this)) this.retainers++
      if (this.retainers > 0) {
        this.disposeDeferred = true
        return undefined
      }
    }
    return this.disposeWorkers(undefined)
  }

  /** A retry has ended: the stages it replayed on may dispose what they kept for it. */
  private releaseHeld(): Promise<void> | undefined {
    this.released = true
    let waits: Promise<void>[] | undefined
    for (const origin of this.holding ?? []) {
      const releasing = origin.release()
      if (releasing !== undefined) (waits ??= []).push(releasing)
    }
    this.holding = undefined
    return waits === undefined ? undefined : Promise.all(waits).then(() => {})
  }

  private disposeWorkers(also: Promise<void> | undefined): Promise<void> | undefined {
    this.workersDisposed = true
    const disposing = disposeAll(this.runners.filter((r) => r !== undefined))
    if (!also) return disposing
    return Promise.all([disposing, also]).then(() => {})
  }
}
