import { setMaxListeners } from 'node:events'
import { PipelineError, abortError, cancelledError, internalError, sourceError } from '../../result/pipeline-error.js'
import { RunState, Scope, bindScope, scopeOf } from '../scope.js'
import { EMPTY, END, type AnySource, type Producer, type Pulled, type Wakeable } from './producer.js'
import { openProducer } from './iterator-producer.js'
import { NodeOutputs } from './node-outputs.js'

/** Each stage by the signal it opens its upstream with (see `Node.downstream`). */
const nodes = new WeakMap<AbortSignal, Node<unknown>>()

/** Thrown into an upstream stage when its consumer has gone (never seen by users). */
export const consumerGone = (): PipelineError => cancelledError('the consumer stopped early')

/**
 * Base of every stage: its run and abort linking, the pump loop that pulls from
 * upstream and has the subclass work, and stopping. How its outputs are read
 * (`take`, `next()`) is in NodeOutputs.
 */
export abstract class Node<T> extends NodeOutputs<T> implements Wakeable {
  readonly scope: Scope
  readonly ac = new AbortController()
  protected readonly upstream: Producer<unknown>
  private readonly parentSignal: AbortSignal | undefined
  protected started = false
  protected pumping = false
  private repump = false
  private closing: Promise<void> | undefined
  /** This stage made the run's state (the outermost stage of a plain `for await`). */
  private readonly ownsRun: boolean
  /** A source failure to deliver once in-flight items are out. */
  protected upstreamFailure: unknown = undefined

  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, provided?: { env: unknown }) {
    super()
    const parent = scopeOf(signal)
    this.ownsRun = parent === undefined
    const run = parent?.run ?? new RunState(this.ac)
    this.scope = provided ? new Scope(run, provided.env) : (parent ?? new Scope(run, undefined))
    bindScope(this.ac.signal, this.scope)
    nodes.set(this.ac.signal, this)
    // Every worker of the stage (and `fetch`, timers, … in its handlers) listens on this one signal.
    setMaxListeners(0, this.ac.signal)
    this.parentSignal = signal
    if (signal && !signal.aborted) signal.addEventListener('abort', this.onParentAbort, { once: true })
    // The outermost stage of a plain `for await` owns the run: a kill aborts its own
    // controller, and it must stop like any other stage so its consumer gets the error.
    if (parent === undefined) this.ac.signal.addEventListener('abort', this.onRunAbort, { once: true })
    this.upstream = openProducer(source, this.ac.signal)
    this.upstream.listen(this)
  }

  // ---- subclass hooks -------------------------------------------------------

  /** Pull what there is room for and dispatch it. Called inside the pump guard. */
  protected abstract work(): void
  /** Drop queued work and abandon in-flight work: the stage is being stopped. */
  protected abstract onStop(error: unknown): void
  /** Release per-worker resources; called once, on completion or stop. */
  protected dispose(): Promise<void> | void {}

  // ---- the pump -------------------------------------------------------------

  wake(): void {
    this.upstreamEmpty = false
    this.pump()
  }

  protected pump(): void {
    if (this.pumping) {
      this.repump = true
      return
    }
    this.pumping = true
    this.resting = false
    try {
      if (!this.started) this.begin()
      do {
        this.repump = false
        if (this.stopped) break
        this.work()
      } while (this.repump)
    } catch (error) {
      return this.pumpFailed(error)
    }
    this.pumping = false
  }

  /** (Out of `pump`, which runs once per item: see NodeOutputs.emit on V8's inlining budget.) */
  private pumpFailed(error: unknown): void {
    try {
      this.stop(internalError(error))
    } finally {
      this.pumping = false
    }
  }

  private begin(): void {
    this.started = true
    if (this.parentSignal?.aborted) this.stop(this.scope.run.failure ?? abortError(this.parentSignal))
  }

  /** Takes one item from upstream, or returns EMPTY/END; records upstream failure as END. */
  protected pull(): Pulled<unknown> {
    if (this.upstreamEmpty) return EMPTY
    let item: Pulled<unknown>
    try {
      item = this.upstream.take()
    } catch (error) {
      this.upstreamDone = true
      this.upstreamFailure = sourceError(error)
      return END
    }
    // (`typeof` first: a comparison that sees both items and sentinels would not be compiled to a pointer check.)
    if (typeof item === 'symbol') {
      if (item === EMPTY) this.upstreamEmpty = true
      else if (item === END) this.upstreamDone = true
    } else if (this.upstream.owesWake) this.upstreamEmpty = true
    return item
  }

  /** No more outputs. With a failure, consumers get it after the outputs already queued. */
  protected finish(failure?: unknown): void {
    if (this.finished) return
    this.finished = true
    if (failure !== undefined) {
      this.failure = failure
      // The outermost stage of a plain `for await` owns its run: its consumer gets the report with the error, as `run` gives it.
      if (this.ownsRun && failure instanceof PipelineError && failure.report === undefined) failure.report = this.scope.run.report()
    }
    this.detach()
    this.settleReaders()
  }

  private detach(): void {
    this.parentSignal?.removeEventListener('abort', this.onParentAbort)
  }

  /**
   * The stage this one feeds, found through the signal it was opened with, so
   * also across an IxJS operator in between (it passes the signal along).
   */
  downstream(): Node<unknown> | undefined {
    return this.parentSignal === undefined ? undefined : nodes.get(this.parentSignal)
  }

  // ---- stopping -------------------------------------------------------------

  private readonly onRunAbort = (): void => {
    this.stop(this.scope.run.failure ?? abortError(this.ac.signal))
  }

  private readonly onParentAbort = (): void => {
    const signal = this.parentSignal!
    this.stop(this.scope.run.failure ?? (signal.reason instanceof PipelineError ? signal.reason : abortError(signal)))
  }

  /** Stops this stage and everything upstream of it; in-flight work is abandoned. */
  protected stop(error: unknown): void {
    if (this.stopped) return
    this.stopped = true
    this.upstreamDone = true
    try {
      this.onStop(error)
    } finally {
      this.outputs.clear()
      this.ac.abort(error)
      this.closing ??= this.cleanup()
      this.finish(error)
    }
  }

  private async cleanup(): Promise<void> {
    this.detach()
    await Promise.allSettled([this.upstream.close(), this.dispose()])
  }

  close(): Promise<void> {
    if (!this.stopped) this.stop(consumerGone())
    return this.closing ?? Promise.resolve()
  }

  /** Completion (not a stop): dispose, then finish. Keeps stage-end ordering: dispose has run before END is seen. */
  protected complete(): void {
    if (this.closing !== undefined) return
    const failure = this.upstreamFailure
    let disposing: Promise<void> | void
    try {
      disposing = this.dispose()
    } catch {
      disposing = undefined
    }
    if (disposing === undefined) {
      this.closing = Promise.resolve()
      this.finish(failure)
    } else {
      this.closing = disposing.then(
        () => this.finish(failure),
        () => this.finish(failure),
      )
    }
  }
}
