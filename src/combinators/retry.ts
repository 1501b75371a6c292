import { checkFunction, checkInteger, checkKeys, checkNumber, checkOptionsObject, fail, usageError } from '../exec/validate.js'
import { isThenable } from '../exec/engine/settle.js'
import { RetryNode, type RetrySpec } from '../exec/engine/retry-node.js'
import type { StageError } from '../result/stage-error.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import { MAX_TIMER_MS } from './stage-options.js'
import type { Stage } from '../exec/types.js'
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
 * The number of retries may come first and the rest of the policy second, as
 * in the spec's own example: `retry(3, { backoff: 'exponential' })` is
 * `retry({ retries: 3, backoff: 'exponential' })`.
 *
 * @example
 * ```ts
 * pipe(urls, pool(fetchPage, 16), retry({ retries: 3, backoff: 'exponential', baseMs: 100, when: isTransient }))
 * pipe(urls, pool(fetchPage, 16), retry(3, { backoff: 'exponential', baseMs: 100 }))
 * ```
 */
// (The one-argument form last: `Parameters<typeof retry>` reads the last signature.)
export function retry<T>(retries: number, policy: Omit<RetryPolicy, 'retries'>): Stage<T, T>
export function retry<T>(policy?: number | RetryPolicy): Stage<T, T>
export function retry<T>(policy: number | RetryPolicy = 1, rest?: Omit<RetryPolicy, 'retries'>): Stage<T, T> {
  const options = policyOf(policy, rest)
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

  const spec: RetrySpec = { name, buffer, ordered, concurrency, retries, delayOf, retryable: (error) => safeRetryable(retryable, error) }
  return function retryOperator(source) {
    return stageFlow('retry', source, (src, signal) => new RetryNode(src, signal, spec))
  }
}

/** One policy from `retry`'s arguments: a number of retries, a policy, or a number then the rest of a policy. */
function policyOf(policy: number | RetryPolicy, rest: Omit<RetryPolicy, 'retries'> | undefined): RetryPolicy {
  if (rest === undefined) {
    const options = typeof policy === 'number' ? { retries: policy } : policy
    checkOptionsObject('retry', 'policy', options)
    return options
  }
  if (typeof policy !== 'number') fail('retry', 'retries', 'a number when a policy follows it', policy)
  checkOptionsObject('retry', 'policy', rest)
  if (Object.prototype.hasOwnProperty.call(rest, 'retries')) throw usageError('retry', `give \`retries\` once: as the first argument (${policy}) or in the policy, not both`)
  return { ...rest, retries: policy }
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
