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

export function isReplayHolder(value: unknown): value is ReplayHolder {
  return typeof (value as Partial<ReplayHolder> | undefined)?.hold === 'function'
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
  replay(item: unknown, priorErrors: unknown[] | null, handlerIndex: number, sink: ReplaySink, recovering: boolean, index?: number): void
  /** Stops a queued or running replay for `sink` (its retry stage is stopping). */
  forget(sink: ReplaySink): void
  /** A holder (see ReplayHolder.hold) is done with this stage; resolves once what that let go of is disposed. */
  release(): Promise<void> | undefined
}

/** Where a failed item came from, so that `retry` can run the same stage on it again. */
export interface ReplayTarget {
  readonly origin: ReplayOrigin
  /** Which of the stage's handlers failed it (mix and fork have several). */
  readonly handlerIndex: number
  /** Stages the `Left` then passed through untouched; a recovered item must still go through them. */
  path: ReplayOrigin[] | undefined
  /** The item's position in the input of the stage that failed it (its `ctx.index` there, again when replayed). */
  readonly index: number
  /** Its position in the input of each stage of `path`. */
  pathIndexes: number[] | undefined
}

/**
 * The engine's replay handles, by the StageError they belong to: the error is
 * plain data, and a handle lives only as long as the error does. Kept on
 * `globalThis` under a registered symbol, so that a `retry` of one copy of
 * pipevine (ESM or CommonJS) still finds the stage of another that failed an item.
 */
const kTargets = Symbol.for('pipevine.replayTargets')
const targets: WeakMap<object, ReplayTarget> = ((globalThis as { [kTargets]?: WeakMap<object, ReplayTarget> })[kTargets] ??= new WeakMap())

export function setReplayTarget(error: object, origin: ReplayOrigin, handlerIndex: number, path: ReplayOrigin[] | undefined, index = 0, pathIndexes?: number[]): void {
  targets.set(error, { origin, handlerIndex, path, index, pathIndexes })
}

export function replayTargetOf(error: unknown): ReplayTarget | undefined {
  return typeof error === 'object' && error !== null ? targets.get(error) : undefined
}

/** A `Left` carrying `error` passes `stage` untouched: if it is retried and recovers, it must still come through `stage`. */
export function notePassage(error: unknown, stage: ReplayOrigin, index = 0): void {
  const target = replayTargetOf(error)
  if (target !== undefined && target.origin !== stage) {
    ;(target.path ??= []).push(stage)
    ;(target.pathIndexes ??= []).push(index)
  }
}

/** An item a downstream `retry` asked a stage to run again. */
export interface ReplayJob {
  readonly item: unknown
  readonly priorErrors: unknown[] | null
  readonly handlerIndex: number
  sink: ReplaySink | null
  /** The stage already counted the item as failed (it is retrying its own failure). */
  readonly recovering: boolean
  /** The item's `ctx.index` (its position in the stage's input when it first came). */
  readonly index: number
}
