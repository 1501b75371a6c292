import { WorkerState, type StageContext } from '../context.js'
import { isKill } from '../kill.js'
import { waitForCleanup } from '../cleanup.js'
import { logsAt } from '../logger.js'
import type { RunState } from '../scope.js'
import { KIND_PLAIN, KIND_RIGHT, eitherKind } from '../../result/either.js'
import { messageOf } from '../../result/describe.js'
import { isThenable, whenSettled } from './settle.js'
import type { Runner, WorkerConfig } from './runner.js'
import { AS_DOUBLE } from '../stats.js'
import { signalAborted } from './aborted.js'

/*
 * What every runner does around an attempt, written once: its context, the
 * reading of a handler's value (kill, Either), the decision to retry in place,
 * sampled timing, and init/dispose around a worker's life.
 */

/** A handler's context: one per worker, reused item after item. */
export class Context implements StageContext<unknown> {
  /** The current item's position in the stage's input (set by the runner per item). */
  index = 0

  constructor(
    public env: unknown,
    public state: WorkerState,
    public signal: AbortSignal,
    public attempt: number,
    public worker: number,
    public stage: string,
    public log: StageContext['log'],
  ) {}
}

/** Past its first TIMING_SAMPLE attempts, a worker times one attempt in TIMING_SAMPLE (a power of two). */
export const TIMING_SAMPLE = 16

/** A start time meaning "not timed": a fraction, as the clock readings the field holds (see StageStats). */
export const UNTIMED = -AS_DOUBLE

/** Whether attempt number `count` of a worker is timed (it then counts for TIMING_SAMPLE: see `sampleWeight`). */
export function timed(count: number): boolean {
  return count <= TIMING_SAMPLE || (count & (TIMING_SAMPLE - 1)) === 0
}

export function sampleWeight(count: number): number {
  return count <= TIMING_SAMPLE ? 1 : TIMING_SAMPLE
}

export const KILLED_VALUE = -1
export const FAILED_VALUE = 0
export const OK_VALUE = 1

/** What `readValue` found inside the value it read: `unwrapped.value` (set synchronously, read at once: no allocation per item). */
export const unwrapped: { value: unknown } = { value: undefined }

/**
 * Reads a handler's value: `kill()` kills the run (KILLED_VALUE); a `Right` or a
 * `Left` is unwrapped into `unwrapped.value` (OK_VALUE or FAILED_VALUE); an Either
 * whose value can't be read fails with that error; anything else is the value.
 */
export function readValue(value: unknown, run: RunState): number {
  // A primitive is neither a kill nor an Either (the common case, without the calls).
  if (typeof value !== 'object' || value === null) {
    unwrapped.value = value
    return OK_VALUE
  }
  return readObjectValue(value, run)
}

function readObjectValue(value: object, run: RunState): number {
  if (isKill(value)) {
    run.kill(value.reason)
    return KILLED_VALUE
  }
  const kind = eitherKind(value)
  if (kind === KIND_PLAIN) {
    unwrapped.value = value
    return OK_VALUE
  }
  try {
    unwrapped.value = kind === KIND_RIGHT ? (value as { right: unknown }).right : (value as { left: unknown }).left
  } catch (error) {
    unwrapped.value = error
    return FAILED_VALUE
  }
  return kind === KIND_RIGHT ? OK_VALUE : FAILED_VALUE
}

/** Attempt `attempt` (of at most `maxAttempt`) failed with `error`: whether to try again in place (counted and logged). */
export function retryInPlace(config: WorkerConfig, attempt: number, maxAttempt: number, error: unknown): boolean {
  if (attempt >= maxAttempt || signalAborted(config.signal)) return false
  const log = config.scope.run.log
  if (logsAt(log, 'debug')) log.debug(`[${config.stats.name}] attempt ${attempt} failed, retrying: ${messageOf(error)}`)
  config.stats.retried++
  return true
}

/**
 * Runs a worker's `init` once and reports its result to `done` or `failed`, whether it
 * returns, throws, or settles a promise (synchronous results are reported synchronously).
 */
export function callInit(
  init: (ctx: StageContext<unknown>) => unknown,
  ctx: StageContext<unknown>,
  done: (seeded: unknown) => unknown,
  failed: (error: unknown) => unknown,
): void {
  let seeded: unknown
  try {
    seeded = init(ctx)
  } catch (error) {
    failed(error)
    return
  }
  if (!whenSettled(seeded, done, failed)) done(seeded)
}

/** What `seedState` returns when the state was seeded. */
export const SEEDED: unique symbol = Symbol('pipevine.seeded')

/**
 * Seeds a worker's state with what its `init` returned: SEEDED, or the error when
 * that value's entries can't be read (a revoked Proxy), which fails the `init`.
 */
export function seedState(ctx: StageContext<unknown>, value: unknown): unknown {
  try {
    WorkerState.seed(ctx.state, value)
    return SEEDED
  } catch (error) {
    return error
  }
}

/** Logs a worker's failed `init`, in one wording for every runner. */
export function logInitFailed(config: WorkerConfig, index: number, error: unknown): void {
  config.scope.run.log.error(`[${config.stats.name}] init failed for worker ${index}: ${messageOf(error)}`)
}

/**
 * `init` finished after its worker's stage stopped: the state is seeded, and if the
 * worker has been disposed meanwhile, what `init` opened still gets its `dispose`
 * (without holding up the stop).
 */
export function settleLateInit(config: WorkerConfig, ctx: StageContext<unknown>, index: number, value: unknown, disposed: boolean): void {
  // What init returned may not be readable; dispose still gets the state it has.
  seedState(ctx, value)
  if (disposed && config.dispose !== undefined) void callDispose(config, ctx, index)
}

/**
 * Calls the stage's `dispose` for one worker. A failure, thrown or rejected, is
 * logged and never thrown; returns what to wait for when `dispose` is async.
 */
export function callDispose(config: WorkerConfig, ctx: StageContext<unknown>, index: number): Promise<unknown> | undefined {
  const failed = (error: unknown): void => config.scope.run.log.error(`[${config.stats.name}] dispose failed for worker ${index}: ${messageOf(error)}`)
  try {
    const result = config.dispose!(ctx.state, ctx)
    if (isThenable(result)) {
      // A stop (the stage's signal aborted) waits for it only briefly, a completion at most the grace (see exec/cleanup.ts).
      const disposing = Promise.resolve(result).catch(failed)
      return waitForCleanup(disposing, config.scope.run.log, `[${config.stats.name}] dispose of worker ${index}`, config.signal.aborted)
    }
  } catch (error) {
    failed(error)
  }
  return undefined
}

/** Disposes every worker; undefined when all of that was synchronous. */
export function disposeAll(workers: Iterable<Runner>): Promise<void> | undefined {
  let waits: Promise<void>[] | undefined
  for (const worker of workers) {
    const waiting = worker.dispose()
    if (waiting) (waits ??= []).push(waiting)
  }
  return waits === undefined ? undefined : Promise.all(waits).then(() => {})
}
