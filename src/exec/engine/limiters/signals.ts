/*
 * What a failed attempt tells a stage about its downstream service: how long it
 * asked to be left alone (`retryAfterMs`), and whether the failure means
 * "overloaded" at all. Read on the failure path only.
 */

/** The longest pause or retry delay honoured (2^31 - 1 ms, about 24.8 days: the longest `setTimeout`). */
const MAX_WAIT_MS = 2_147_483_647

/**
 * The `retryAfterMs` a handler's error carries (0: none). Only a finite
 * positive number counts; a getter that throws, a string or NaN is no signal.
 * A `StageError` (a replayed item's) is read through its `cause`.
 */
export function retryAfterMsOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 0
  let ms: unknown
  try {
    ms = (error as { retryAfterMs?: unknown }).retryAfterMs
  } catch {
    return 0
  }
  return typeof ms === 'number' && ms > 0 && ms < Infinity ? Math.min(ms, MAX_WAIT_MS) : 0
}

/**
 * Whether an error says the service is overloaded: a `retryAfterMs`, or an
 * HTTP-like `status`/`statusCode` of 429 or 503. Other failures (a 404, a bad
 * record, a bug) say nothing about load, so an adaptive limit ignores them, as
 * Netflix's limiters ignore what is neither a success nor a drop.
 */
export function isOverload(error: unknown): boolean {
  if (retryAfterMsOf(error) > 0) return true
  if (typeof error !== 'object' || error === null) return false
  let status: unknown
  try {
    status = (error as { status?: unknown }).status ?? (error as { statusCode?: unknown }).statusCode
  } catch {
    return false
  }
  return status === 429 || status === 503
}
