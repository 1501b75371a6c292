import type { Either } from 'fp-ts/lib/Either.js'
import type { StageContext, WorkerState } from '../exec/context.js'
import { shortForm } from '../exec/logger.js'
import type { StageStats } from '../exec/report.js'
import { mkLeft, mkRight } from '../result/either.js'
import { StageError, messageOf } from '../result/stage-error.js'
import { END, EMPTY, Node, type AnySource } from './node.js'
import { Queue } from './queue.js'
import type { ReplayOrigin } from './stage-core.js'
import { disposeAll, type Runner, type WorkerConfig, type WorkerOwner } from './worker.js'

/** How one pool/mix/fork stage is built. */
export interface StageSpec {
  readonly name: string
  readonly buffer: number
  readonly ordered: boolean
  readonly retries: number
  readonly timeout: number
  readonly init: ((ctx: StageContext<unknown>) => unknown) | undefined
  readonly dispose: ((state: WorkerState, ctx: StageContext<unknown>) => unknown) | undefined
  /** How many runners (workers, or fork slots) the stage has. */
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

const HOLE: unique symbol = Symbol('hole')
type Out = Either<StageError, unknown>

/**
 * The engine behind `pool`, `mix` and `fork`: a bounded input queue feeding
 * `slots` runners, optional reordering, and the accounting. The stage holds at
 * most `buffer + slots` items (queued, in flight, waiting for order, or done and
 * not yet taken), and pulls from upstream only while it is below that.
 */
export class WorkerNode extends Node<Out> implements WorkerOwner, ReplayOrigin {
  readonly stats: StageStats
  private readonly config: WorkerConfig
  private readonly runners: Runner[] = []
  private readonly idle: Runner[] = []
  private readonly queueItems = new Queue<unknown>(4)
  private readonly queueSeqs = new Queue<number>(4)
  private readonly cap: number
  private broken = 0
  private seq = 0
  private inFlight = 0
  // Ordered output: results waiting for earlier ones, in a ring indexed by sequence number.
  private readonly ring: (Out | typeof HOLE)[] | undefined
  private head = 0
  private waiting = 0
  private replays = 0

  constructor(
    source: AnySource<unknown>,
    signal: AbortSignal | undefined,
    private readonly spec: StageSpec,
  ) {
    super(source, signal)
    this.stats = this.scope.run.register(spec.name)
    this.config = {
      stats: this.stats,
      scope: this.scope,
      signal: this.ac.signal,
      retries: spec.retries,
      timeout: spec.timeout,
      init: spec.init,
      dispose: spec.dispose,
    }
    this.cap = spec.buffer + spec.slots
    if (spec.ordered) this.ring = new Array<Out | typeof HOLE>(this.cap).fill(HOLE)
  }

  private runner(index: number): Runner {
    let runner = this.runners[index]
    if (runner === undefined) {
      runner = this.spec.createRunner(this.config, this, index, this.spec.handlerIndexOf(index))
      this.runners[index] = runner
    }
    return runner
  }

  protected work(): void {
    if (this.runners.length === 0) {
      // Runners are created on first use, so a stage that never gets an item spawns nothing.
      for (let i = this.spec.slots - 1; i >= 0; i--) this.idle.push(this.runner(i))
      this.stats.startedAt = performance.now()
    }
    const queueItems = this.queueItems
    for (;;) {
      while (queueItems.length > 0 && this.idle.length > 0) this.start(this.idle.pop()!, queueItems.shift(), this.queueSeqs.shift())
      if (queueItems.length > 0 && this.broken === this.spec.slots) this.failQueued()
      if (this.stopped || this.upstreamDone) break
      if (queueItems.length + this.inFlight + this.waiting + this.outputs.length >= this.cap) break
      const item = this.pull()
      if (item === EMPTY || item === END) break
      this.accept(item)
    }
    if (this.upstreamDone && !this.stopped && queueItems.length === 0 && this.inFlight === 0 && this.waiting === 0) {
      this.stats.endedAt = performance.now()
      this.complete()
    }
  }

  private accept(item: unknown): void {
    const seq = this.seq++
    if (this.spec.admit !== undefined) {
      if (!this.spec.admit(item)) return this.deliver(seq, item as Out)
    } else if (typeof item === 'object' && item !== null) {
      const tag = (item as { _tag?: unknown })._tag
      if (tag === 'Left' && 'left' in item) return this.deliver(seq, item as Out)
      if (tag === 'Right' && 'right' in item) item = (item as { right: unknown }).right
    }
    if (this.idle.length > 0) this.start(this.idle.pop()!, item, seq)
    else {
      this.queueItems.push(item)
      this.queueSeqs.push(seq)
    }
  }

  private start(runner: Runner, item: unknown, seq: number): void {
    this.inFlight++
    this.stats.inFlight++
    runner.run(item, seq)
  }

  settled(runner: Runner, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    this.inFlight--
    this.stats.inFlight--
    let result: Out
    if (this.spec.rawResults) {
      result = value as Out
      if (result._tag === 'Right') this.stats.processed++
      else this.stats.failed++
    } else if (ok) {
      this.stats.processed++
      result = mkRight(value)
    } else {
      this.stats.failed++
      result = mkLeft(this.stageError(item, errors!, runner.handlerIndex))
    }
    if (runner.broken === undefined) this.idle.push(runner)
    else this.broken++
    this.deliver(runner.seq, result)
    this.pump()
  }

  private stageError(item: unknown, errors: unknown[], handlerIndex: number): StageError {
    const error = new StageError(this.stats.name, item, errors, { origin: this, handlerIndex })
    this.scope.run.log.warn(
      `[${this.stats.name}] item failed after ${errors.length} attempt${errors.length === 1 ? '' : 's'}: ${messageOf(error.cause)} (item: ${shortForm(item)})`,
    )
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

  private deliver(seq: number, result: Out): void {
    const ring = this.ring
    if (ring === undefined) return this.emit(result)
    if (seq !== this.head) {
      ring[seq % this.cap] = result
      this.waiting++
      return
    }
    this.emit(result)
    this.head++
    for (;;) {
      const slot = this.head % this.cap
      const next = ring[slot]!
      if (next === HOLE) break
      ring[slot] = HOLE
      this.waiting--
      this.head++
      this.emit(next)
    }
  }

  protected onStop(): void {
    const cancelled = this.queueItems.length + this.inFlight
    this.stats.cancelled += cancelled
    this.stats.inFlight -= this.inFlight
    this.inFlight = 0
    this.queueItems.clear()
    this.queueSeqs.clear()
    if (this.ring !== undefined) this.ring.fill(HOLE)
    this.waiting = 0
    for (const runner of this.runners) if (runner !== undefined && runner.busy) runner.retire()
    if (this.stats.startedAt && !this.stats.endedAt) this.stats.endedAt = performance.now()
  }

  protected override dispose(): Promise<void> | undefined {
    return disposeAll(this.runners.filter((r) => r !== undefined))
  }

  replayRunner(handlerIndex: number, owner: WorkerOwner, signal: AbortSignal): Runner {
    const index = this.spec.slots + this.replays++
    return this.spec.createRunner({ ...this.config, signal }, owner, index, handlerIndex)
  }
}
