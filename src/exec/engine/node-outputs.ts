import { KIND_LEFT, KIND_RIGHT, eitherKind } from '../../result/either.js'
import type { Scope } from '../scope.js'
import { Queue } from './queue.js'
import { EMPTY, END, type Producer, type Pulled, type Wakeable } from './producer.js'

interface PendingRead<T> {
  resolve(result: IteratorResult<T>): void
  reject(error: unknown): void
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined }) as IteratorReturnResult<undefined>

/**
 * The output side of a stage (see Node for the rest): its queue of outputs and
 * the two ways they are read, by `take` (a stage below, or `run`'s drain, woken
 * when there is more) and by `next()` (a `for await`, or anything else that holds
 * the async iterator).
 */
export abstract class NodeOutputs<T> implements Producer<T>, AsyncIterableIterator<T> {
  abstract readonly scope: Scope
  protected readonly outputs = new Queue<T>(4)
  /** The oldest pending `next()` (most consumers have at most one), then any others. */
  private readResolve: PendingRead<T>['resolve'] | null = null
  private readReject: PendingRead<T>['reject'] | null = null
  private reads: Queue<PendingRead<T>> | null = null
  private listener: Wakeable | null = null
  /** See Producer.owesWake. */
  owesWake = false
  protected upstreamDone = false
  /** No more outputs will be produced (some may still sit in `outputs`). */
  protected finished = false
  protected failure: unknown = undefined
  private failureDelivered = false
  protected stopped = false
  /** The upstream said EMPTY and owes a `wake()`: taking again before it would only walk the chain above for nothing. */
  protected upstreamEmpty = false
  /**
   * Set by a subclass when its last pass of `work` left nothing that another pass
   * could do before an event (a wake, a settled item, a taken output) pumps it
   * anyway. A read that finds no output then skips the pump, which would otherwise
   * run once per read for nothing.
   */
  protected resting = false

  /** Runs the stage: pulls, dispatches, emits what is ready. */
  protected abstract pump(): void
  /** Stops the stage and everything upstream; resolves once cleanup is done. */
  abstract close(): Promise<void>

  /**
   * Set by a `values()` fused onto this stage: outputs leave as plain values
   * (`Right`s unwrapped) and `Left`s are dropped here, counted as failed, as
   * `values()` would, without a stage of its own in between.
   */
  unwrapValues = false

  /**
   * Set when what reads this stage treats a plain value as the `Right` of it (a
   * stage of ours that unwraps its input, `run`'s drain): a stage that wraps its
   * results (WorkerNode) then lets values that are not themselves Either-shaped
   * leave as they are, with no `Right` allocated for each item at each stage.
   */
  plainValues = false

  /** `buffer: 0`: reads and takes that find nothing count as demand (see PacedOutputs, which fills in the three hooks). */
  protected paced = false
  protected demandFromTake(): void {}
  protected demandFromRead(): void {}
  protected demandAnswered(_item: T): void {}

  // (Each step off the common path is a method of its own: V8 inlines a caller's callees only up to a budget of bytecode.)
  protected emit(item: T): void {
    if (this.paced) this.demandAnswered(item)
    if (this.unwrapValues) return this.emitValue(item)
    this.output(item)
  }

  /** `emit` with a fused `values()`: a `Right` leaves unwrapped, a `Left` is dropped (counted as failed). */
  private emitValue(item: T): void {
    const kind = eitherKind(item)
    if (kind === KIND_LEFT) return this.scope.run.drop((item as { left: unknown }).left)
    this.output(kind === KIND_RIGHT ? (item as { right: T }).right : item)
  }

  private output(item: T): void {
    if (this.holdOutputs) {
      this.outputs.push(item)
      return
    }
    if (this.readResolve !== null) return this.resolveRead({ value: item, done: false })
    this.outputs.push(item)
    if (this.owesWake) {
      this.owesWake = false
      this.listener!.wake()
    }
  }

  /**
   * While set, `emit` only queues: no reader is resolved and no consumer woken
   * until `handOver`. A stage sets it to start its next item before whoever reads
   * it runs, and still emit in order if that item settles at once.
   */
  protected holdOutputs = false

  /** Hands what was queued while `holdOutputs` to waiting readers, or wakes the consumer. */
  protected handOver(): void {
    while (this.readResolve !== null && this.outputs.length > 0) this.resolveRead({ value: this.outputs.shift(), done: false })
    if (this.owesWake && this.outputs.length > 0) {
      this.owesWake = false
      this.listener!.wake()
    }
  }

  /** The outputs are finished (with `failure`, if set): settles the reads waiting and wakes the consumer. */
  protected settleReaders(): void {
    this.settleReads()
    if (this.owesWake) {
      this.owesWake = false
      this.listener!.wake()
    }
  }

  private settleReads(): void {
    while (this.readResolve !== null && this.outputs.length === 0) {
      if (this.failure !== undefined && !this.failureDelivered) {
        this.failureDelivered = true
        const reject = this.readReject!
        this.shiftRead()
        reject(this.failure)
      } else this.resolveRead(DONE)
    }
  }

  /** Settles the oldest pending read with `result`. */
  private resolveRead(result: IteratorResult<T>): void {
    const resolve = this.readResolve!
    this.shiftRead()
    resolve(result)
  }

  /** Drops the oldest pending read: the next one, if any, moves up. */
  private shiftRead(): void {
    const more = this.reads
    if (more !== null && more.length > 0) {
      const next = more.shift()
      this.readResolve = next.resolve
      this.readReject = next.reject
    } else {
      this.readResolve = null
      this.readReject = null
    }
  }

  // ---- read by a stage below (the Producer side) ------------------------------

  listen(consumer: Wakeable): void {
    this.listener = consumer
  }

  take(): Pulled<T> {
    const item = this.poll()
    if (typeof item === 'symbol') {
      if (item === EMPTY) this.owesWake = true
    } else if (this.outputs.length === 0 && !this.finished && !this.paced) this.owesWake = true // (a paced stage pulls only when asked again)
    return item
  }

  /** `take` for a reader that waits with `next()` rather than `listen`: EMPTY promises no wake. */
  poll(): Pulled<T> {
    if (this.outputs.length === 0 && !this.finished) {
      if (this.paced) this.demandFromTake()
      if (!this.resting) this.pump()
    }
    if (this.outputs.length > 0) {
      const item = this.outputs.shift()
      // The room this frees matters only if there is something above to pull.
      if ((!this.upstreamDone && !(this.upstreamEmpty && this.resting)) || this.stopped) this.pump()
      return item
    }
    return this.finished ? this.endedTake() : EMPTY
  }

  private endedTake(): Pulled<T> {
    if (this.failure !== undefined) throw this.failure
    return END
  }

  // ---- read by `next()` (the async iterator side) -----------------------------

  next(): Promise<IteratorResult<T>> {
    if (this.outputs.length === 0 && !this.finished) {
      if (this.paced) this.demandFromRead()
      if (!this.resting) this.pump()
    }
    if (this.outputs.length > 0) {
      // Reads still waiting come first (only a handler that calls next() as it starts can find outputs held for them).
      if (this.readResolve !== null) return new Promise<IteratorResult<T>>(this.enqueueRead)
      const item = this.outputs.shift()
      if (!(this.upstreamEmpty && this.resting)) this.pump()
      return Promise.resolve({ value: item, done: false })
    }
    return this.finished ? this.endedRead() : new Promise<IteratorResult<T>>(this.enqueueRead)
  }

  private endedRead(): Promise<IteratorResult<T>> {
    if (this.failure !== undefined && !this.failureDelivered) {
      this.failureDelivered = true
      return Promise.reject(this.failure)
    }
    return Promise.resolve(DONE)
  }

  /** The executor of every pending read: one function for the node's life, not a closure per read (a bound method: see Worker). */
  private readonly enqueueRead = this.addRead.bind(this)

  private addRead(resolve: PendingRead<T>['resolve'], reject: PendingRead<T>['reject']): void {
    if (this.readResolve === null) {
      this.readResolve = resolve
      this.readReject = reject
    } else (this.reads ??= new Queue<PendingRead<T>>(2)).push({ resolve, reject })
  }

  async return(): Promise<IteratorResult<T>> {
    this.failureDelivered = true
    await this.close()
    return DONE
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    await this.close()
    throw error
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}
