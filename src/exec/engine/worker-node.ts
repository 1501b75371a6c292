import type { StageStats } from '../stats.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind, mkLeft, mkRight } from '../../result/either.js'
import { END, EMPTY, type AnySource } from './producer.js'
import type { Out } from './ordered-node.js'
import { PacedOutputs } from './paced-node.js'
import { ItemQueue } from './item-queue.js'
import { isReplayHolder, notePassage, type ReplaySink } from './replay.js'
import { StageReplays, type ReplayJob, type ReplayStage } from './stage-replays.js'
import type { Runner, WorkerConfig, WorkerOwner } from './runner.js'
import { FixedConfig, FixedSpec, type StageSpec } from './worker-spec.js'
import { RunnerSet } from './runner-set.js'
import { closeLimiter, stageLimiter } from './limiter.js'
import { awaitItem, isPlain, isPromiseItem, stageError, type ItemHolder } from './stage-items.js'
import { skip } from '../skip.js'

export type { StageSpec } from './worker-spec.js'

/**
 * The engine behind `pool`, `mix` and `fork`: a bounded input queue feeding
 * `slots` runners, optional reordering, and the accounting. The stage holds at
 * most `buffer + slots` items (queued, in flight, waiting for order, or done and
 * not yet taken), and pulls from upstream only while it is below that.
 */
export class WorkerNode extends PacedOutputs implements WorkerOwner, ReplayStage, ItemHolder {
  readonly stats: StageStats
  readonly config: WorkerConfig
  private readonly runners: RunnerSet
  private readonly queueItems = new ItemQueue(4)
  /**
   * The holding bound: buffer + single-item runners (multi-item runners add their current limits, see RunnerSet.capacity).
   * With `slots: Infinity` there is none: the stage pulls as fast as its source gives, as `p-map` does.
   */
  private cap: number
  private seq = 0
  private inFlight = 0
  /** Replays for a downstream retry (see StageReplays), once one asks. */
  private replays: StageReplays | undefined
  /** Downstream retries that may still replay here: the workers outlive the stage's own end until they release it. */
  private retainers = 0
  private disposeDeferred = false
  private workersDisposed = false
  private limiterClosed = false
  readonly spec: FixedSpec

  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, spec: StageSpec) {
    const fixed = new FixedSpec(spec)
    super(source, signal, fixed.ordered, fixed.buffer + fixed.slots, fixed.buffer === 0)
    this.spec = fixed
    this.stats = this.scope.run.register(fixed.name)
    const limiter = stageLimiter(fixed.createLimiter, { name: fixed.name, slots: fixed.slots, stats: this.stats, signal: this.ac.signal })
    this.config = new FixedConfig(this.stats, this.scope, this.ac.signal, fixed.retries, fixed.timeout, fixed.init, fixed.dispose, limiter)
    this.cap = fixed.buffer + fixed.slots
    this.runners = new RunnerSet(fixed, this.config, this, this.stats)
    // This stage takes a plain value as it takes a `Right` of it: the stage above need not wrap its values.
    if (this.upstream instanceof WorkerNode) this.upstream.plainValues = true
  }

  protected work(): void {
    if (this.halted) return
    const runners = this.runners
    if (runners.size === 0) {
      // The first worker is ready when the stage starts; the others come as items need them (see RunnerSet.free).
      // (Made here, the hot path never sees `grow` on a stage of one busy worker, which keeps it small for V8.)
      const runner = runners.grow()
      if (runner.limit === undefined) runners.idle.push(runner)
      this.stats.startedAt = performance.now()
    }
    const queueItems = this.queueItems
    let pulls = 0
    for (;;) {
      if (this.replays !== undefined && this.replays.queued > 0) this.replays.dispatch()
      if (queueItems.length > 0) {
        for (;;) {
          const runner = runners.free()
          if (runner === undefined) break
          // Sequence numbers matter only for order (replays, which have negative ones, never queue here).
          this.start(runner, queueItems.shift(), queueItems.seq)
          if (queueItems.length === 0) break
        }
        if (queueItems.length > 0 && (runners.broken > 0 || runners.multi.length > 0) && runners.allBroken()) this.failQueued()
      }
      if (this.stopped || this.upstreamDone) break
      if (queueItems.length + this.inFlight + this.waiting + this.outputs.length >= (runners.multi.length === 0 ? this.cap : runners.capacity(this.cap))) {
        // Full: only a settled item or a taken output makes room, and both pump. (A multi-item runner's limit changes on its own.)
        this.resting = runners.multi.length === 0 && this.replays === undefined
        break
      }
      if (this.paced && queueItems.length + this.inFlight + this.waiting >= this.unmet) break
      if (this.cap === Infinity && this.unboundedFull(this.queueItems.length, this.spec.buffer, ++pulls)) break
      const item = this.pull()
      // Pulling can run upstream handlers synchronously, and one of them may have killed the run.
      // (`typeof` first: a comparison that sees both items and sentinels would not be compiled to a pointer check.)
      if (typeof item === 'symbol') {
        if (item === EMPTY) {
          // Nothing above until it wakes this stage.
          this.resting = runners.multi.length === 0 && this.replays === undefined
          break
        }
        if (item === END) break
      }
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

  private accept(item: unknown, seq = this.seq++): void {
    const kind = eitherKind(item)
    if (kind === KIND_LEFT) return this.passLeft(item as Out, seq)
    if (kind === KIND_RIGHT) item = (item as { right: unknown }).right
    // An item that is a promise is awaited before a handler sees it, as `for await` and p-map do (a primitive costs two typeofs).
    if ((typeof item === 'object' || typeof item === 'function') && isPromiseItem(item)) return this.awaitItem(item, seq)
    const runner = this.runners.free()
    if (runner !== undefined) this.start(runner, item, seq)
    else {
      this.queueItems.push(item, seq)
    }
  }

  /** A Left from upstream passes through in its place. */
  private passLeft(item: Out, seq: number): void {
    notePassage((item as { left: unknown }).left, this, seq)
    if (this.scope.run.haltOnLeft) this.halt()
    this.deliver(seq, item)
  }

  /** Holds promise item `seq` (in flight) until it settles. */
  private awaitItem(item: PromiseLike<unknown>, seq: number): void {
    this.inFlight++
    this.stats.inFlight++
    awaitItem(this, item, seq)
  }

  itemSettled(item: unknown, seq: number, ok: boolean, value: unknown): void {
    if (this.stopped) return // counted as cancelled (see onStop)
    this.inFlight--
    this.stats.inFlight--
    if (ok) this.accept(value, seq)
    else {
      this.stats.failed++
      this.deliver(seq, mkLeft(stageError(this, item, [value], undefined, seq)))
      if (this.scope.run.haltOnLeft) this.halt()
    }
    this.handOver()
    this.pump()
  }

  private start(runner: Runner, item: unknown, seq: number): void {
    this.inFlight++
    this.stats.inFlight++
    runner.run(item, seq)
  }

  settled(runner: Runner, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    this.resting = false
    this.inFlight--
    this.stats.inFlight--
    if (runner.seq < 0) {
      this.runners.putBack(runner)
      this.replays!.settled(runner, item, ok, value, errors)
      return this.pump()
    }
    let result: Out | undefined
    // A plain value may itself be undefined: a skip is told apart by this flag, not by the result.
    const skipped = ok && value === skip
    if (ok) {
      if (!skipped) {
        this.stats.processed++
        result = (this.plainValues || this.unwrapValues) && isPlain(value) ? (value as Out) : mkRight(value)
      } else {
        this.stats.skipped++ // leaves as nothing: neither processed nor failed
        this.scope.run.skipped++
      }
    } else {
      this.stats.failed++
      result = mkLeft(stageError(this, item, errors!, runner.handlerIndex, runner.seq))
      if (this.scope.run.haltOnLeft) this.halt()
    }
    const held = this.outputs.length + this.waiting
    // The result is queued first, the runner's next item started, and only then is the reader told: its next read
    // finds this stage already at work on the next item (at concurrency 1 the stage stays an item ahead of its
    // reader, which finds each item ready rather than waiting for it). An item that settles at once queues behind.
    this.holdOutputs = true
    if (!skipped) this.deliver(runner.seq, result as Out)
    else this.deliverNothing(runner.seq)
    this.holdOutputs = false
    if (runner.held === undefined) {
      if (runner.broken !== undefined) this.runners.broken++
      else if (this.queueItems.length > 0 && !this.settling && !this.pumping && !this.halted && !this.stopped && this.replays === undefined) {
        // Inside `work` or another `settled` (a handler that returns at once), the loop there starts it instead: no recursion per queued item.
        this.settling = true
        this.start(runner, this.queueItems.shift(), this.queueItems.seq)
        this.settling = false
      } else this.runners.idle.push(runner)
    }
    const restless = this.queueItems.length > 0 || this.upstreamDone || this.runners.multi.length > 0 || this.replays !== undefined
    // Nothing queued, and the stage above owes a wake: a pass of `work` would find nothing to pull (rest before the reader takes).
    if (!restless && this.upstreamEmpty) this.resting = true
    this.handOver()
    // A reader that took the result pumped this stage as it did, and if that pass left it resting, another would do nothing.
    if (this.resting) return
    if (restless) return this.pump()
    // Otherwise, when the result only moved from in flight to the output, the next `take` pumps. When the output
    // count did not grow (a waiting read took the result, or a fused values() dropped a Left), no `take` is coming:
    // pump now, unless the room that made is of no use until the stage above wakes this one (it rests until then).
    if (this.outputs.length + this.waiting <= held) {
      if (this.upstreamEmpty) this.resting = true
      else this.pump()
    }
  }

  /** Set while `settled` starts a queued item itself (see there). */
  private settling = false

  // ---- replays for a downstream retry (see StageReplays) ----------------------

  replay(item: unknown, priorErrors: unknown[] | null, handlerIndex: number, sink: ReplaySink, recovering: boolean, index = 0): void {
    const job: ReplayJob = { item, priorErrors, handlerIndex, sink, recovering, index }
    const replays = (this.replays ??= new StageReplays(this))
    if (this.stopped || this.workersDisposed) return replays.toLane(job, false)
    replays.add(job)
    this.pump()
  }

  forget(sink: ReplaySink): void { this.replays?.forget(sink) }

  startReplay(runner: Runner, job: ReplayJob, seq: number): void {
    this.inFlight++
    this.stats.inFlight++
    runner.run(job.item, seq, job.priorErrors, job.recovering ? 0 : undefined, job.index)
  }

  retain(): void { this.retainers++ } // the replay contract's plumbing (see ReplayStage)
  freeFor(handlerIndex: number): Runner | undefined { return this.runners.freeFor(handlerIndex) }
  deadFor(handlerIndex: number): unknown { return this.runners.deadFor(handlerIndex) }

  release(): Promise<void> | undefined {
    if (--this.retainers > 0) return undefined
    let disposing: Promise<void> | undefined
    if (this.disposeDeferred) {
      this.disposeDeferred = false
      disposing = this.disposeWorkers()
    }
    const closing = this.replays?.closeLane()
    if (this.workersDisposed && !this.limiterClosed) this.limiterClosed = closeLimiter(this.config.limiter)
    return closing === undefined ? disposing : disposing === undefined ? closing : Promise.all([disposing, closing]).then(() => {})
  }

  /** Every runner's `init` failed: nothing can take the queued items, so they fail with that error. */
  private failQueued(): void {
    const cause = this.runners.brokenCause
    while (this.queueItems.length > 0) {
      const item = this.queueItems.shift()
      const seq = this.queueItems.seq
      this.stats.failed++
      this.deliver(seq, mkLeft(stageError(this, item, [cause], 0, seq)))
    }
  }

  protected onStop(error: unknown): void {
    this.ac.abort(error) // before the runners retire: an attempt a limiter admits meanwhile then sees the stop
    // Replays are a downstream retry's items, not this stage's: they are not counted as cancelled here.
    this.stats.cancelled += this.queueItems.length + this.inFlight - (this.replays?.inFlight ?? 0)
    this.stats.inFlight -= this.inFlight
    this.inFlight = 0
    this.queueItems.clear()
    this.dropWaiting()
    this.runners.retireBusy()
    this.replays?.move()
    if (this.stats.startedAt && !this.stats.endedAt) this.stats.endedAt = performance.now()
  }

  protected override dispose(): Promise<void> | undefined {
    if (!this.stopped) {
      // Ended, but a retry downstream (found through the signals, also past an IxJS operator) may replay items here: keep the workers.
      for (let node = this.downstream(); node !== undefined; node = node.downstream()) if (isReplayHolder(node) && node.hold(this)) this.retainers++
      if (this.retainers > 0) {
        this.disposeDeferred = true
        return undefined
      }
    }
    return this.disposeWorkers()
  }

  private disposeWorkers(): Promise<void> | undefined {
    this.workersDisposed = true
    const disposing = this.runners.dispose()
    // The limiter is closed once no runner of this stage, nor of its replay lane, can ask it again.
    if (this.retainers <= 0 && !this.limiterClosed) this.limiterClosed = closeLimiter(this.config.limiter)
    return disposing
  }
}
