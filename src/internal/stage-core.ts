import type { StageStats } from '../exec/report.js'
import type { Scope } from '../exec/scope.js'
import type { Runner, WorkerOwner } from './worker.js'

/** Hears how a replayed item ended. */
export interface ReplaySink {
  replayed(origin: ReplayOrigin, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null, handlerIndex: number): void
}

/**
 * What a stage offers a downstream `retry`: running one of its handlers on an
 * item again, on its own workers and within its own concurrency.
 */
export interface ReplayOrigin {
  readonly stats: StageStats
  readonly scope: Scope
  /**
   * Queues `item` for handler `handlerIndex` on this stage's workers, ahead of new input.
   * `recovering`: the stage already counted this item as failed. Returns false when the
   * stage can no longer run it (its workers are gone): use `replayRunner` then.
   */
  replay(item: unknown, priorErrors: unknown[] | null, handlerIndex: number, sink: ReplaySink, recovering: boolean): boolean
  /** Stops a queued or running replay for `sink` (its retry stage is stopping). */
  forget(sink: ReplaySink): void
  /** A fresh runner for handler `handlerIndex` of this stage, reporting to `owner`, stopped by `signal`. */
  replayRunner(handlerIndex: number, owner: WorkerOwner, signal: AbortSignal): Runner
}

export function isReplayOrigin(value: unknown): value is ReplayOrigin {
  return typeof value === 'object' && value !== null && typeof (value as Partial<ReplayOrigin>).replay === 'function'
}
