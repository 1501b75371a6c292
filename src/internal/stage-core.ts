import type { StageStats } from '../exec/report.js'
import type { Scope } from '../exec/scope.js'
import type { Runner, WorkerOwner } from './worker.js'

/**
 * What a stage keeps so that a downstream `retry` can run the same stage on a
 * failed item again, after the stage itself may have finished.
 */
export interface ReplayOrigin {
  readonly stats: StageStats
  readonly scope: Scope
  /** A fresh runner for handler `handlerIndex` of this stage, reporting to `owner`, stopped by `signal`. */
  replayRunner(handlerIndex: number, owner: WorkerOwner, signal: AbortSignal): Runner
}

export function isReplayOrigin(value: unknown): value is ReplayOrigin {
  return typeof value === 'object' && value !== null && typeof (value as Partial<ReplayOrigin>).replayRunner === 'function'
}
