import { describeValue, isError, messageOf } from './describe.js'

export { messageOf }

// Node's hook for util.inspect (console.log), by its registered name: importing node:util would tie
// this data module to Node.
const inspectCustom: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never

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

  /**
   * What `console.log` and `util.inspect` print: the message, then the stage, a
   * short form of the item, the attempts and the last cause, one line each (not
   * the stack and every attempt's error with its own stack).
   *
   * @hidden
   */
  [inspectCustom](): string {
    return [
      `${this.name}: ${this.message}`,
      `  stage: ${this.stage}`,
      `  item: ${describeValue(this.item)}`,
      `  attempts: ${this.attempts}`,
      `  cause: ${causeLine(this.cause)}`,
    ].join('\n')
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

/** An error's `Name: message`; any other thrown value's short description. Never throws. */
function causeLine(cause: unknown): string {
  if (!isError(cause)) return messageOf(cause)
  let name: unknown
  try {
    name = cause.name
  } catch {
    name = undefined // a throwing getter: the message alone
  }
  const message = messageOf(cause)
  return typeof name === 'string' && name !== '' && name !== message ? `${name}: ${message}` : message
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
