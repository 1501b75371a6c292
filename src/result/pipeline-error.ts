import type { Report } from './report.js'
import { messageOf } from './describe.js'

/**
 * Why a whole run ended early (`PipelineError.kind`):
 * - `cancelled`: the run's `signal` was aborted;
 * - `timeout`: the run's signal was an `AbortSignal.timeout(ms)` that fired;
 * - `killed`: a handler returned `kill(reason)`;
 * - `source`: the source (or an operator between stages) threw;
 * - `failed`: `failFast` was set and an item failed;
 * - `internal`: a bug in pipevine or a callback of yours (`onProgress`, `merge`, …) threw where it could not become a `Left`;
 * - `unavailable`: a service a stage depends on stayed unreachable past its bound (a `remote` stage's Redis, see `pipevine/bullmq`).
 *
 * @example
 * ```ts
 * const result = await run(pipe(ids, pool(fetchUser, 8)), { signal: controller.signal })
 * if (isLeft(result) && result.left.kind !== 'cancelled') throw result.left
 * ```
 */
export type PipelineErrorKind = 'cancelled' | 'killed' | 'source' | 'internal' | 'timeout' | 'failed' | 'unavailable'

/**
 * The `Left` of `run`/`collect`, and what a `for await` loop over a pipeline throws
 * when the run is killed or cancelled or its source fails.
 *
 * @example
 * ```ts
 * const result = await run(pipe(ids, pool(fetchUser, 8)), { signal: AbortSignal.timeout(1_000) })
 * if (isLeft(result)) console.log(result.left.kind, result.left.report?.processed)
 * ```
 */
export class PipelineError extends Error {
  /** @hidden */
  override readonly name = 'PipelineError'
  /** Why the run ended: see {@link PipelineErrorKind}. */
  readonly kind: PipelineErrorKind
  /** The kill reason, or the abort signal's reason. */
  readonly reason: unknown
  /** The error underneath: what the source or a callback threw, the failed item's `StageError` (`failed`), or the abort reason. */
  declare readonly cause: unknown
  /** What had been done when the run ended (filled in by `run`/`collect`). */
  report: Report | undefined

  constructor(kind: PipelineErrorKind, message: string, options: { reason?: unknown; cause?: unknown; report?: Report } = {}) {
    super(message, { cause: options.cause })
    this.kind = kind
    this.reason = options.reason
    this.report = options.report
  }

  /** @hidden */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false
    try {
      return (value as { name?: unknown }).name === 'PipelineError' && 'kind' in value
    } catch {
      return false // a revoked Proxy is no PipelineError
    }
  }
}

/*
 * The one place a run-ending error and its message are made: every stage, `run`
 * and `collect` build theirs through these (and `abortError` below).
 */

/** `cancelled` without an abort reason: the run or a part of it ended under a consumer that is gone. */
export function cancelledError(message: string): PipelineError {
  return new PipelineError('cancelled', message)
}

/** A handler returned `kill(reason)`. */
export function killedError(reason: unknown): PipelineError {
  return new PipelineError('killed', `pipeline killed: ${messageOf(reason)}`, { reason })
}

/** An item failed and ended the run: with `failFast` (the message says so), or as what the consumer threw. */
export function failedError(error: unknown, failFast: boolean): PipelineError {
  return new PipelineError('failed', failFast ? `failFast: ${messageOf(error)}` : messageOf(error), { cause: error })
}

/** What the source (or an operator between stages) threw; a PipelineError from further up passes as it is. */
export function sourceError(error: unknown): PipelineError {
  return error instanceof PipelineError ? error : new PipelineError('source', `source failed: ${messageOf(error)}`, { cause: error })
}

/** A callback of the user's failed where it could not become a `Left` (`what` says which); without `what`, a bug in pipevine. */
export function internalError(cause: unknown, what?: string): PipelineError {
  return new PipelineError('internal', what ?? `pipevine internal error: ${messageOf(cause)}`, { cause })
}

/** The PipelineError that stands for an aborted signal: `timeout` for `AbortSignal.timeout`, else `cancelled`. */
export function abortError(signal: AbortSignal): PipelineError {
  const reason: unknown = signal.reason
  if (reason instanceof PipelineError) return reason
  let isTimeout = false
  try {
    isTimeout = typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError'
  } catch {
    // an abort reason that can't be read (a revoked Proxy) is a plain cancel
  }
  return isTimeout
    ? new PipelineError('timeout', 'pipeline timed out', { reason, cause: reason })
    : new PipelineError('cancelled', 'pipeline cancelled', { reason, cause: reason })
}
