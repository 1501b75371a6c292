import { KIND_LEFT, eitherKind, mkLeft, mkRight } from '../../result/either.js'
import { StageError, messageOf } from '../../result/stage-error.js'
import type { StageStats } from '../stats.js'
import { END, EMPTY, type AnySource } from './producer.js'
import { OrderedNode, type Out } from './ordered-node.js'
import { Queue } from './queue.js'
import { retryAfterMsOf } from './limiters/signals.js'
import { replayTargetOf, setReplayTarget, type ReplayHolder, type ReplayOrigin, type ReplaySink } from './replay.js'
import { skip } from '../skip.js'
import { signalAborted } from './aborted.js'

/** How a `retry` stage retries (see combinators/retry.ts for the options). */
export interface RetrySpec {
  readonly name: string
  readonly buffer: number
  readonly ordered: boolean
  /** Items being retried at once (`Infinity`: no limit). */
  readonly concurrency: number
  readonly retries: number
  /** The wait before retry number `attempt` (1 for the first); throws or rejects: no more retries. */
  delayOf(attempt: number): number | Promise<number>
  /** Whether to retry `error` (never throws). */
  retryable(error: StageError): boolean
}

/**
 * The `retry` stage: a `Left` whose stage can replay it (see ReplayOrigin) waits
 * out a backoff and is replayed on the workers of the stage that failed it
 * (within its concurrency, with its workers' state); once that stage succeeds,
 * the value goes on through the stages the `Left` had passed through untouched,
 * so a recovered item is processed exactly as if it had not failed. Other items
 * pass through in place. It holds at most `buffer + concurrency` items.
 */
export class RetryNode extends OrderedNode implements ReplayHolder {
  readonly stats: StageStats
  private readonly queueItems = new Queue<Retrying>(4)
  private readonly cap: number
  private seq = 0
  /** Items being retried. */
  private active = 0
  /** Retrying records not in use (one per item retried at once, reused). */
  private readonly spare: Retrying[] = []
  private readonly live = new Set<Retrying>()
  private created = 0
  /** The stages replays ran on, released when this stage ends. */
  private holding: ReplayOrigin[] | undefined
  private released = false

  constructor(
    source: AnySource<unknown>,
    signal: AbortSignal | undefined,
    readonly spec: RetrySpec,
  ) {
    super(source, signal, spec.ordered, spec.buffer + spec.concurrency)
    this.stats = this.scope.run.register(spec.name)
    this.stats.concurrency = spec.concurrency
    this.cap = spec.buffer + spec.concurrency
  }

  protected work(): void {
    if (this.halted) return
    if (this.stats.startedAt === 0) {
      this.stats.startedAt = performance.now()
      this.stats.workers = this.created = 1
    }
    const queue = this.queueItems
    let pulls = 0
    for (;;) {
      while (queue.length > 0 && this.active < this.spec.concurrency) this.startRetry(queue.shift())
      if (this.stopped || this.upstreamDone) break
      if (queue.length + this.active + this.waiting + this.outputs.length >= this.cap) break
      if (this.cap === Infinity && this.unboundedFull(this.queueItems.length, this.spec.buffer, ++pulls)) break
      const item = this.pull()
      if (item === EMPTY || item === END) break
      if (this.stopped) {
        this.stats.cancelled++
        break
      }
      this.accept(item)
    }
    if (this.upstreamDone && !this.stopped && queue.length === 0 && this.active === 0 && this.waiting === 0 && !this.stats.endedAt) {
      this.stats.endedAt = performance.now()
      this.complete()
    }
  }

  private accept(item: unknown): void {
    const seq = this.seq++
    if (eitherKind(item) !== KIND_LEFT) return this.deliver(seq, item as Out)
    const error = (item as { left: unknown }).left
    const target = this.spec.retries > 0 && error instanceof StageError ? replayTargetOf(error) : undefined
    if (target === undefined || !this.spec.retryable(error as StageError)) {
      if (this.scope.run.haltOnLeft) this.halt()
      return this.deliver(seq, item as Out)
    }
    const retrying = this.spare.pop() ?? new Retrying(this)
    retrying.seq = seq
    retrying.error = error as StageError
    retrying.remaining = target.path?.slice() ?? []
    retrying.remainingIndexes = target.pathIndexes?.slice() ?? []
    if (this.active < this.spec.concurrency) this.startRetry(retrying)
    else this.queueItems.push(retrying)
  }

  private startRetry(retrying: Retrying): void {
    if (++this.active > this.created) this.stats.workers = this.created = this.active
    this.stats.inFlight++
    this.live.add(retrying)
    retrying.tries = 0
    retrying.schedule()
  }

  /** `retrying` is done: its result leaves in its place (undefined: a replay returned `skip`, and it leaves as nothing). */
  retried(retrying: Retrying, result: Out | undefined): void {
    this.active--
    this.stats.inFlight--
    this.live.delete(retrying)
    const seq = retrying.seq
    retrying.reset()
    this.spare.push(retrying)
    if (result === undefined) {
      this.stats.skipped++
      this.scope.run.skipped++
    } else if (result._tag === 'Right') this.stats.processed++
    else {
      this.stats.failed++
      if (this.scope.run.haltOnLeft) this.halt()
    }
    const held = this.outputs.length + this.waiting
    if (result === undefined) this.deliverNothing(seq)
    else this.deliver(seq, result)
    if (this.queueItems.length > 0 || this.upstreamDone || this.outputs.length + this.waiting <= held) this.pump()
  }

  hold(origin: ReplayOrigin): boolean {
    if (this.released) return false
    const holding = (this.holding ??= [])
    if (holding.includes(origin)) return false
    holding.push(origin)
    return true
  }

  protected onStop(): void {
    this.stats.cancelled += this.queueItems.length + this.active
    this.stats.inFlight -= this.active
    this.active = 0
    this.queueItems.clear()
    this.dropWaiting()
    for (const retrying of this.live) retrying.retire()
    this.live.clear()
    if (this.stats.startedAt && !this.stats.endedAt) this.stats.endedAt = performance.now()
  }

  /** This stage has ended: the stages it replayed on may dispose what they kept for it. */
  protected override dispose(): Promise<void> | undefined {
    this.released = true
    let waits: Promise<void>[] | undefined
    for (const origin of this.holding ?? []) {
      const releasing = origin.release()
      if (releasing !== undefined) (waits ??= []).push(releasing)
    }
    this.holding = undefined
    return waits === undefined ? undefined : Promise.all(waits).then(() => {})
  }
}

/** One item being retried: its backoffs, and the replays on the stages it still has to go through. */
class Retrying implements ReplaySink {
  seq = 0
  error: StageError | undefined = undefined
  /** Stages still to run after the current one succeeds. */
  remaining: ReplayOrigin[] = []
  /** The item's position in the input of each of `remaining` (its `ctx.index` there). */
  remainingIndexes: number[] = []
  /** Its position in the input of the stage it is replayed on now. */
  private index = 0
  tries = 0
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** Where the item is being replayed now. */
  private origin: ReplayOrigin | undefined = undefined
  /** Bumped when this record is retired or reused: a late backoff of its earlier item changes nothing. */
  private epoch = 0

  constructor(private readonly node: RetryNode) {}

  get holder(): ReplayHolder {
    return this.node
  }

  schedule(): void {
    this.tries++
    let ms: number | Promise<number>
    try {
      ms = this.node.spec.delayOf(this.tries)
    } catch (error) {
      return this.backoffFailed(error)
    }
    // A handler that said when to come back (an error's `retryAfterMs`: a 429/503 `Retry-After`) is not asked sooner.
    const floor = retryAfterMsOf(this.error!.cause)
    if (typeof ms === 'number') this.timer = setTimeout(this.fire, Math.max(ms, floor))
    else {
      // A stop retires this record meanwhile: then a late (or never-settling) backoff changes nothing.
      const epoch = this.epoch
      ms.then(
        (wait) => {
          if (epoch === this.epoch) this.timer = setTimeout(this.fire, Math.max(wait, floor))
        },
        (error) => {
          if (epoch === this.epoch) this.backoffFailed(error)
        },
      )
    }
  }

  /** A throwing or rejecting `backoff` means no retry (like a throwing `when`), not a crash in a timer or promise callback. */
  private backoffFailed(error: unknown): void {
    const { node } = this
    node.scope.run.log.error(`[${node.stats.name}] backoff failed, not retrying: ${messageOf(error)}`)
    node.retried(this, mkLeft(this.error!))
  }

  private readonly fire = (): void => {
    this.timer = undefined
    const error = this.error!
    const target = replayTargetOf(error)!
    this.submit(target.origin, error.item, error.errors as unknown[], target.handlerIndex, true, target.index)
  }

  private submit(origin: ReplayOrigin, item: unknown, priorErrors: unknown[] | null, handlerIndex: number, recovering: boolean, index: number): void {
    this.origin = origin
    this.index = index
    origin.replay(item, priorErrors, handlerIndex, this, recovering, index)
  }

  replayed(origin: ReplayOrigin, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null, handlerIndex: number): void {
    if (this.origin !== origin) return
    this.origin = undefined
    if (ok) {
      if (value === skip) return this.node.retried(this, undefined)
      const next = this.remaining.shift()
      if (next !== undefined) return this.submit(next, value, null, 0, false, this.remainingIndexes.shift() ?? 0)
      return this.node.retried(this, mkRight(value))
    }
    const error = new StageError(origin.stats.name, item, errors!)
    const more = this.remaining.length > 0
    setReplayTarget(error, origin, handlerIndex, more ? this.remaining.slice() : undefined, this.index, more ? this.remainingIndexes.slice() : undefined)
    this.error = error
    const { spec, ac } = this.node
    if (this.tries < spec.retries && !signalAborted(ac.signal) && spec.retryable(error)) return this.schedule()
    origin.scope.run.log.warn(`[${error.stage}] item still failing after ${error.attempts} attempts: ${error.message}`)
    this.node.retried(this, mkLeft(error))
  }

  /** Done with its item: ready for another. */
  reset(): void {
    this.epoch++
    this.error = undefined
    this.remaining = []
    this.remainingIndexes = []
  }

  /** The stage stopped: no more backoffs or replays for this item. */
  retire(): void {
    this.reset()
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const origin = this.origin
    this.origin = undefined
    origin?.forget(this)
  }
}
