import type { StageStats } from '../stats.js'
import type { Scope } from '../scope.js'

/** Hears how a replayed item ended. */
export interface ReplaySink {
  replayed(origin: ReplayOrigin, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null, handlerIndex: number): void
  /** The `retry` stage the sink belongs to. */
  readonly holder: ReplayHolder
}

/** A `retry` stage: it keeps the stages it replays on able to replay until it ends. */
export interface ReplayHolder {
  /** Keeps `origin`'s replay workers until this stage ends (then calls `origin.release()`); false if it already does, or has ended. */
  hold(origin: ReplayOrigin): boolean
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
   * `recovering`: the stage already counted this item as failed. A stage that has
   * stopped, or disposed its workers, runs it on replay workers of its own (within
   * its concurrency), which `sink.holder` keeps until it ends.
   */
  replay(item: unknown, priorErrors: unknown[] | null, handlerIndex: number, sink: ReplaySink, recovering: boolean): void
  /** Stops a queued or running replay for `sink` (its retry stage is stopping). */
  forget(sink: ReplaySink): void
  /** A holder (see ReplayHolder.hold) is done with this stage; resolves once what that let go of is disposed. */
  release(): Promise<void> | undefined
}

export function isReplayOrigin(value: unknown): value is ReplayOrigin {
  return typeof value === 'object' && value !== null && typeof (value as Partial<ReplayOrigin>).replay === 'function'
}
