import type { Either } from 'fp-ts/lib/Either.js'
import { checkFunction, checkInteger, checkKeys, checkNumber, checkOptionsObject, fail } from '../exec/validate.js'
import { isReplayOrigin, type ReplayHolder, type ReplayOrigin, type ReplaySink } from '../exec/engine/replay.js'
import type { Runner, WorkerConfig, WorkerOwner } from '../exec/engine/runner.js'
import { isThenable } from '../exec/engine/settle.js'
import { WorkerNode, type StageSpec } from '../exec/engine/worker-node.js'
import { KIND_LEFT, eitherKind, mkLeft, mkRight } from '../result/either.js'
import { StageError, kReplay, messageOf } from '../result/stage-error.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import { MAX_TIMER_MS } from './stage-options.js'
import type { Operator } from '../exec/types.js'
import type { StageOptions } from './types.js'

/**
 * The wait before each retry: `'exponential'` waits `baseMs`, then twice as long
 * each time; `'linear'` waits `baseMs` times the retry's number; a function gets
 * that number (1 for the first retry) and returns ms, or a promise of ms (awaited).
 * Capped at `maxMs`; a function that throws or rejects means no more retries for
 * that item.
 *
 * @example
 * ```ts
 * pipe(urls, pool(fetchPage, 8), retry({ retries: 4, backoff: (n) => 250 * n * n, maxMs: 5_000 }))
 * ```
 */
export type Backoff = 'none' | 'linear' | 'exponential' | ((attempt: number) => number | PromiseLike<number>)

/**
 * How `retry` retries (or just the number of retries).
 *
 * @example
 * ```ts
 * retry({ retries: 3, jitter: true, when: (cause) => (cause as { code?: string }).code === 'ECONNRESET' })
 * ```
 */
export interface RetryPolicy extends StageOptions {
  /** Extra attempts per failed item (default 1). */
  retries?: number
  /** Delay before each retry (default `'exponential'`). */
  backoff?: Backoff
  /** First delay in ms for `linear`/`exponential` (default 100). */
  baseMs?: number
  /** Longest delay in ms (default 30,000). */
  maxMs?: number
  /**
   * Randomise each delay: a fraction `f` in [0, 1] picks uniformly in
   * [delay × (1 − f), delay]; `true` is 0.5, `false` (the default) is 0.
   */
  jitter?: boolean | number
  /** Retry only errors this accepts; it gets the last attempt's error, then the StageError (default: all). Synchronous: a throw, or a promise, means no retry. */
  when?: (cause: unknown, error: StageError) => boolean
  /** Items being retried at once (default 64; `Infinity`: no limit); others keep flowing past them. */
  concurrency?: number
  /** Keep source order (default false: a recovered item rejoins the stream when it succeeds). */
  ordered?: boolean
}

const RETRY_KEYS = ['name', 'buffer', 'retries', 'backoff', 'baseMs', 'maxMs', 'jitter', 'when', 'concurrency', 'ordered'] as const

/**
 * Runs each failed item's stage again, up to `retries` more times, waiting out a
 * backoff between attempts, before letting its `Left` through. Items waiting on
 * a backoff don't stall the stream: others keep flowing past them.
 *
 * @example
 * ```ts
 * pipe(urls, pool(fetchPage, 16), retry({ retries: 3, backoff: 'exponential', baseMs: 100, when: isTransient }))
 * ```
 */
export function retry<T>(policy: number | RetryPolicy = 1): Operator<T, T> {
  const options: RetryPolicy = typeof policy === 'number' ? { retries: policy } : policy
  checkOptionsObject('retry', 'policy', options)
  checkKeys('retry', options, RETRY_KEYS)
  const { name = 'retry', buffer = 1, retries = 1, backoff = 'exponential', baseMs = 100, maxMs = 30_000, jitter = false, when, concurrency = 64, ordered = false } = options
  checkInteger('retry', 'retries', retries, 0)
  checkInteger('retry', 'buffer', buffer, 0)
  checkInteger('retry', 'concurrency', concurrency, 1, true)
  checkNumber('retry', 'baseMs', baseMs, 0)
  checkNumber('retry', 'maxMs', maxMs, 0)
  if (typeof backoff !== 'function' && !['none', 'linear', 'exponential'].includes(backoff as string)) {
    fail('retry', 'backoff', "'none', 'linear', 'exponential' or a function", backoff)
  }
  if (typeof jitter !== 'boolean' && !(typeof jitter === 'number' && jitter >= 0 && jitter <= 1)) fail('retry', 'jitter', 'a boolean or a number in [0, 1]', jitter)
  const spread = jitter === true ? 0.5 : jitter === false ? 0 : jitter
  if (when !== undefined) checkFunction('retry', 'when', when)
  if (typeof ordered !== 'boolean') fail('retry', 'ordered', 'a boolean', ordered)

  const bounded = (ms: number): number => {
    if (!(ms >= 0)) ms = 0
    ms = Math.min(ms, maxMs, MAX_TIMER_MS) // beyond a timer's range Node would fire after 1 ms
    return spread > 0 ? ms * (1 - spread) + Math.random() * ms * spread : ms
  }
  const delayOf = (attempt: number): number | Promise<number> => {
    const ms = typeof backoff === 'function' ? backoff(attempt) : backoff === 'none' ? 0 : backoff === 'linear' ? baseMs * attempt : baseMs * 2 ** (attempt - 1)
    return isThenable(ms) ? Promise.resolve(ms).then(bounded) : bounded(ms)
  }
  const retryable = (error: StageError): boolean => when === undefined || when(error.cause, error)

  const spec: StageSpec = {
    name,
    buffer,
    ordered,
    retries: 0,
    timeout: 0,
    init: undefined,
    dispose: undefined,
    slots: concurrency,
    rawResults: true,
    // The owner of a retry's slots is its WorkerNode, which holds the stages they replay on.
    createRunner: (config, owner, index) => new RetrySlot(config, owner as WorkerOwner & ReplayHolder, index, retries, delayOf, retryable),
    handlerIndexOf: () => 0,
    admit: (item) => {
      if (eitherKind(item) !== KIND_LEFT) return false
      const error = (item as { left: unknown }).left
      return retries > 0 && error instanceof StageError && isReplayOrigin(error[kReplay]?.origin) && safeRetryable(retryable, error)
    },
  }
  return function retryOperator(source) {
    return stageFlow('retry', source, (src, signal) => new WorkerNode(src, signal, spec))
  }
}

function safeRetryable(retryable: (error: StageError) => boolean, error: StageError): boolean {
  try {
    const verdict: unknown = retryable(error)
    if (!isThenable(verdict)) return Boolean(verdict)
    // `when` is a synchronous predicate: a promise is no verdict, and its rejection must not go unhandled.
    Promise.resolve(verdict).catch(() => {})
    return false
  } catch {
    return false
  }
}

/**
 * Holds one failed item through its backoffs and replays. A replay runs on the
 * workers of the stage that failed the item (within its concurrency, with its
 * workers' state); once that stage succeeds, the value goes on through the stages
 * the `Left` had passed through untouched, so a recovered item is processed
 * exactly as if it had not failed.
 */
class RetrySlot implements Runner, ReplaySink {
  readonly handlerIndex = 0
  readonly broken = undefined
  busy = false
  seq = 0
  private error: StageError | undefined
  /** Stages still to run after the current one succeeds. */
  private remaining: ReplayOrigin[] = []
  private tries = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  /** Where the item is now being replayed, and whether that stage had counted it as failed. */
  private origin: ReplayOrigin | undefined
  private retired = false

  constructor(
    private readonly config: WorkerConfig,
    private readonly owner: WorkerOwner & ReplayHolder,
    readonly index: number,
    private readonly retries: number,
    private readonly delayOf: (attempt: number) => number | Promise<number>,
    private readonly retryable: (error: StageError) => boolean,
  ) {}

  run(item: unknown, seq: number): void {
    this.busy = true
    this.seq = seq
    const error = (item as { left: StageError }).left
    this.error = error
    this.remaining = (error[kReplay]!.path as ReplayOrigin[] | undefined)?.slice() ?? []
    this.tries = 0
    this.schedule()
  }

  private schedule(): void {
    this.tries++
    let ms: number | Promise<number>
    try {
      ms = this.delayOf(this.tries)
    } catch (error) {
      return this.backoffFailed(error)
    }
    if (typeof ms === 'number') this.timer = setTimeout(this.fire, ms)
    // A stop retires this slot meanwhile: then a late (or never-settling) backoff changes nothing.
    else
      ms.then(
        (wait) => {
          if (!this.retired) this.timer = setTimeout(this.fire, wait)
        },
        (error) => {
          if (!this.retired) this.backoffFailed(error)
        },
      )
  }

  /** A throwing or rejecting `backoff` means no retry (like a throwing `when`), not a crash in a timer or promise callback. */
  private backoffFailed(error: unknown): void {
    this.config.scope.run.log.error(`[${this.config.stats.name}] backoff failed, not retrying: ${messageOf(error)}`)
    this.done(mkLeft(this.error!))
  }

  private readonly fire = (): void => {
    this.timer = undefined
    if (this.retired) return
    const error = this.error!
    const target = error[kReplay]!
    this.submit(target.origin as ReplayOrigin, error.item, error.errors as unknown[], target.handlerIndex, true)
  }

  get holder(): ReplayHolder {
    return this.owner
  }

  private submit(origin: ReplayOrigin, item: unknown, priorErrors: unknown[] | null, handlerIndex: number, recovering: boolean): void {
    this.origin = origin
    origin.replay(item, priorErrors, handlerIndex, this, recovering)
  }

  replayed(origin: ReplayOrigin, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null, handlerIndex: number): void {
    if (this.retired) return
    this.origin = undefined
    if (ok) {
      const next = this.remaining.shift()
      if (next !== undefined) return this.submit(next, value, null, 0, false)
      return this.done(mkRight(value))
    }
    const path = this.remaining.length > 0 ? this.remaining.slice() : undefined
    const error = new StageError(origin.stats.name, item, errors!, { origin, handlerIndex, path })
    this.error = error
    if (this.tries < this.retries && !this.config.signal.aborted && safeRetryable(this.retryable, error)) return this.schedule()
    origin.scope.run.log.warn(`[${error.stage}] item still failing after ${error.attempts} attempts: ${error.message}`)
    this.done(mkLeft(error))
  }

  private done(result: Either<StageError, unknown>): void {
    this.busy = false
    this.error = undefined
    this.owner.settled(this, undefined, true, result, null)
  }

  retire(): void {
    this.retired = true
    this.busy = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const origin = this.origin
    this.origin = undefined
    origin?.forget(this)
  }

  /** Nothing of its own to dispose: replays run on their stage's workers, which the retry stage releases. */
  dispose(): undefined {
    return undefined
  }
}
