import { failedError, killedError, type PipelineError } from '../result/pipeline-error.js'
import { silentLogger, type Logger } from './logger.js'
import type { Report } from '../result/report.js'
import { StageStats, roundMs } from './stats.js'

/**
 * What every stage of one run shares: the report's counters, the logger, the
 * kill switch and the root abort controller. One per `run`/`collect`, or per
 * outermost stage of a plain `for await`.
 */
export class RunState {
  readonly stages: StageStats[] = []
  private readonly names = new Map<string, number>()
  readonly startedAt = performance.now()
  /** Why the run is ending early, once it is. */
  failure: PipelineError | undefined
  /** `Left`s dropped by `values()` / `deadLetter` (they still count as failed items). */
  dropped = 0
  /** Items that reached the end of the pipeline (kept by `run`/`collect`). */
  processed = 0
  failed = 0
  /** Items a handler dropped with `skip` (each once, where it left the stream). */
  skipped = 0
  /** `run`/`collect` with `failFast`: a `Left` dropped on the way ends the run too. */
  failFast = false
  /**
   * A `Left` may end the run (`failFast`, or an `orThrow()`): a stage that emits one
   * starts nothing more until the next turn, by when whoever ends the run has seen it.
   */
  haltOnLeft = false

  constructor(
    readonly root: AbortController,
    readonly log: Logger = silentLogger,
    /** Whether stages time their handlers (`busyMs`). */
    readonly timing = false,
  ) {}

  /** Registers a stage under a name unique within the run (`fetch`, `fetch#2`, …). */
  register(name: string): StageStats {
    const seen = this.names.get(name) ?? 0
    this.names.set(name, seen + 1)
    const stats = new StageStats(seen === 0 ? name : `${name}#${seen + 1}`)
    this.stages.push(stats)
    return stats
  }

  /** `values()` took a `Left` out of the stream: still a failed item, and with `failFast` the end of the run. */
  drop(error: unknown): void {
    this.dropped++
    if (this.failFast) this.abort(failedError(error, true))
  }

  /** Ends the run early: every stage sees its signal abort and its consumer gets `error`. */
  abort(error: PipelineError): void {
    if (this.failure) return
    this.failure = error
    this.root.abort(error)
  }

  kill(reason: unknown): void {
    this.abort(killedError(reason))
  }

  report(): Report {
    const now = performance.now()
    return {
      processed: this.processed,
      failed: this.failed + this.dropped,
      skipped: this.skipped,
      durationMs: roundMs(now - this.startedAt),
      stages: this.stages.map((s) => s.snapshot(now)),
    }
  }
}

/** A run plus the environment that stages at this depth see (`provide` can change it for what lies upstream). */
export class Scope {
  constructor(
    readonly run: RunState,
    readonly env: unknown,
  ) {}
}

/**
 * Signals are the one thing IxJS carries from operator to operator
 * (`[Symbol.asyncIterator](signal)`), so each stage's signal is the key to the
 * run it belongs to; that is how the environment survives an IxJS operator placed
 * between two of our stages.
 */
const scopes = new WeakMap<AbortSignal, Scope>()

export function scopeOf(signal: AbortSignal | undefined): Scope | undefined {
  return signal ? scopes.get(signal) : undefined
}

export function bindScope(signal: AbortSignal, scope: Scope): void {
  scopes.set(signal, scope)
}
