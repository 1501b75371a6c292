import { Node } from './node.js'
import { END, EMPTY, type AnySource } from './producer.js'
import { isThenable } from './settle.js'

/**
 * A stage without workers: each input is handled synchronously (or by one
 * awaited promise at a time) and may emit any number of outputs. Behind
 * `buffer`, `batch`/`unbatch`, `values`/`errors`/`orThrow`, `deadLetter` and `provide`.
 */
export abstract class TransformNode<T> extends Node<T> {
  private awaiting = false
  private flushed = false

  constructor(
    source: AnySource<unknown>,
    signal: AbortSignal | undefined,
    /** Outputs it may hold before it stops pulling. */
    protected readonly room: number,
    provided?: { env: unknown },
  ) {
    super(source, signal, provided)
  }

  /** Handles one input: emit what follows from it; a returned promise is awaited before the next. */
  protected abstract onItem(item: unknown): void | Promise<void>
  /** The input has ended: emit what is left. */
  protected onEnd(): void {}
  protected onStop(): void {}

  protected work(): void {
    while (!this.stopped && !this.upstreamDone && !this.awaiting && this.outputs.length < this.room) {
      const item = this.pull()
      if (typeof item === 'symbol' && (item === EMPTY || item === END)) break
      let pending: void | Promise<void>
      try {
        pending = this.onItem(item)
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
        this.onEnd()
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
