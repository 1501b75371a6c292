import { Node } from './node.js'
import { END, EMPTY, type AnySource } from './producer.js'
import { isThenable } from './settle.js'

/**
 * What one kind of worker-less stage does with its inputs (`buffer`, `batch`,
 * `values`, …): a TransformNode runs it. Every such stage is the one class
 * TransformNode with its own Transform, rather than a subclass each: the
 * engine's shared methods (take, emit, pump) then see a few classes of stage,
 * not a dozen, and V8 keeps their property reads inline. With more than four
 * classes they go megamorphic, and every pipeline of the process pays for it
 * (three `pool` stages: 0.10 -> 0.18 µs per item per stage once a program had
 * also used `retry`, `buffer`, `batch`, `flatten` and `errors`).
 */
export interface Transform<T> {
  /** Handles one input: emit what follows from it with `node.push`; a returned promise is awaited before the next. */
  onItem(item: unknown, node: TransformNode<T>): void | Promise<void>
  /** The input has ended: emit what is left. */
  onEnd?(node: TransformNode<T>): void
  /** The stage is being stopped. */
  onStop?(): void
}

/**
 * A stage without workers: each input is handled synchronously (or by one
 * awaited promise at a time) and may emit any number of outputs. Behind
 * `buffer`, `batch`/`unbatch`, `values`/`errors`/`orThrow`, `deadLetter`, `merge` and `provide`.
 */
export class TransformNode<T> extends Node<T> {
  private awaiting = false
  private flushed = false

  constructor(
    source: AnySource<unknown>,
    signal: AbortSignal | undefined,
    private readonly transform: Transform<T>,
    /** Outputs it may hold before it stops pulling. */
    private readonly room: number,
    provided?: { env: unknown },
  ) {
    super(source, signal, provided)
  }

  /** Emits `item` (for the Transform). */
  push(item: T): void {
    this.emit(item)
  }

  /** Whether the stage was stopped (for a Transform's timers). */
  get isStopped(): boolean {
    return this.stopped
  }

  /** Runs the stage after its Transform pushed outside `onItem` (from a timer). */
  pumpNow(): void {
    this.pump()
  }

  protected onStop(): void {
    this.transform.onStop?.()
  }

  protected work(): void {
    while (!this.stopped && !this.upstreamDone && !this.awaiting && this.outputs.length < this.room) {
      const item = this.pull()
      if (typeof item === 'symbol' && (item === EMPTY || item === END)) break
      let pending: void | Promise<void>
      try {
        pending = this.transform.onItem(item, this)
      } catch (error) {
        this.failHere(error)
        break
      }
      if (isThenable(pending)) {
        this.awaiting = true
        pending.then(this.resume, this.resumeWithError)
      }
    }
    if (this.upstreamDone && !this.awaiting && !this.stopped && !this.flushed) {
      this.flushed = true
      try {
        this.transform.onEnd?.(this)
      } catch (error) {
        this.upstreamFailure ??= error
      }
      this.complete()
    }
  }

  private readonly resume = (): void => {
    this.awaiting = false
    this.pump()
  }

  private readonly resumeWithError = (error: unknown): void => {
    this.awaiting = false
    this.failHere(error)
    this.pump()
  }

  /** Ends the stream here with `error` after what was already emitted, and closes everything upstream. */
  protected failHere(error: unknown): void {
    if (this.upstreamFailure !== undefined) return
    this.upstreamFailure = error
    this.upstreamDone = true
    this.upstream.close().then(undefined, () => {})
  }
}

/** Passes every item on as it is (`buffer`, `merge`, `provide`). */
export const PASS_THROUGH: Transform<any> = {
  onItem(item, node) {
    node.push(item)
  },
}
