import { messageOf } from './describe.js'

export { messageOf }

/**
 * The error an item carries as a `Left` once a stage has given up on it.
 * `instanceof` checks the shape, so it also holds across copies of pipevine (ESM and CommonJS).
 * `E` names the typed failures of the stages it may come from (the `Left`s their
 * handlers return, as in `Either<E, B>` or `TaskEither<E, B>`); `never` when they return none.
 * `cause` stays `E | unknown`: an attempt can also fail by a throw, a rejection, a
 * `TimeoutError` or a thread crash, so narrow it (`instanceof`, a guard) before use.
 *
 * @example
 * ```ts
 * for await (const r of pipe([1, 2], pool(mayFail)))
 *   if (isLeft(r)) console.log(r.left.stage, r.left.item, r.left.attempts, r.left.cause)
 * ```
 */
export class StageError<E = never> extends Error {
  /** @hidden */
  override readonly name = 'StageError'
  /** The stage's name (unique within a run). */
  readonly stage: string
  /** The input the stage was given. */
  readonly item: unknown
  /** How many attempts ran, counting every retry in place and downstream. */
  readonly attempts: number
  /** The last attempt's error: one of `E`, or what a failed attempt threw (hence `unknown`). */
  declare readonly cause: E | unknown
  /** Every attempt's error, oldest first. */
  readonly errors: readonly (E | unknown)[]

  constructor(stage: string, item: unknown, errors: readonly unknown[]) {
    const cause = errors[errors.length - 1]
    super(`stage "${stage}" failed after ${errors.length} attempt${errors.length === 1 ? '' : 's'}: ${messageOf(cause)}`, { cause })
    this.stage = stage
    this.item = item
    this.attempts = errors.length
    this.errors = errors
  }

  /** @hidden */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false
    try {
      return (value as { name?: unknown }).name === 'StageError' && 'attempts' in value && 'stage' in value
    } catch {
      return false // a revoked Proxy is no StageError
    }
  }
}

/**
 * The error an attempt fails with when it runs past its stage's `timeout`. The
 * attempt's signal aborts so the handler can stop, a late result is discarded,
 * and the attempt is retried like any other failure.
 *
 * @example
 * ```ts
 * pipe(urls, pool(fetchPage, { timeout: 2_000 }), retry({ when: (cause) => cause instanceof TimeoutError }))
 * ```
 */
export class TimeoutError extends Error {
  /** @hidden */
  override readonly name = 'TimeoutError'
  constructor(
    /** The stage whose attempt timed out. */
    readonly stage: string,
    /** The stage's `timeout`. */
    readonly ms: number,
  ) {
    super(`stage "${stage}": attempt timed out after ${ms} ms`)
  }
}
