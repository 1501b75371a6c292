import { logsAt } from '../logger.js'
import { describeValue } from '../../result/describe.js'
import { KIND_PLAIN, eitherKind } from '../../result/either.js'
import { StageError, messageOf } from '../../result/stage-error.js'
import { setReplayTarget, type ReplayOrigin } from './replay.js'
import { isThenable, whenSettled } from './settle.js'

/*
 * What a pool/mix/fork stage (WorkerNode) does with an item on its way in and out,
 * apart from running it: items that are promises, the StageError of a failed item,
 * and which values may leave unwrapped.
 */

/** A value that every reader of `plainValues` takes as the `Right` of it (`run` counts a bare StageError as a failure). */
export function isPlain(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  return eitherKind(value) === KIND_PLAIN && !(value instanceof StageError)
}

/** A thenable item, awaited before a handler sees it; an item whose `then` can't be read (a revoked Proxy) is a plain value. */
export function isPromiseItem(item: unknown): item is PromiseLike<unknown> {
  if (!isThenable(item)) return false
  // `isThenable` also says yes when reading `then` throws.
  try {
    return typeof (item as PromiseLike<unknown>).then === 'function'
  } catch {
    return false
  }
}

/** A stage holding an item that is a promise, to hear how it settled. */
export interface ItemHolder {
  itemSettled(item: unknown, seq: number, ok: boolean, value: unknown): void
}

/** Tells `holder` how promise item `seq` settles (a closure pair per such item: the item is a promise anyway). */
export function awaitItem(holder: ItemHolder, item: PromiseLike<unknown>, seq: number): void {
  whenSettled(
    item,
    (value) => holder.itemSettled(item, seq, true, value),
    (error) => holder.itemSettled(item, seq, false, error),
  )
}

/**
 * The error of an item that `stage` gave up on, logged as a warning; with a replay
 * target (`handlerIndex`), so that a downstream `retry` can run it again there,
 * unless the item is a promise that rejected (a replay would only await it again).
 */
export function stageError(stage: ReplayOrigin, item: unknown, errors: unknown[], handlerIndex: number | undefined, index: number): StageError {
  const name = stage.stats.name
  const error = new StageError(name, item, errors)
  if (handlerIndex !== undefined) setReplayTarget(error, stage, handlerIndex, undefined, index)
  const log = stage.scope.run.log
  // Built only when read: describing an item is bounded, but a silent run should not pay for it at all.
  if (logsAt(log, 'warn')) {
    log.warn(`[${name}] item failed after ${errors.length} attempt${errors.length === 1 ? '' : 's'}: ${messageOf(error.cause)} (item: ${describeValue(item)})`)
  }
  return error
}
