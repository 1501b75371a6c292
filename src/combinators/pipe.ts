import { flow as fpFlow, pipe as fpPipe } from 'fp-ts/lib/function.js'
import { describe, usageError } from '../exec/validate.js'

/** A `TypeError` now, naming the argument, rather than fp-ts's "bc is not a function" later. */
function checkOperators(stage: string, fns: readonly unknown[], first: number): void {
  for (let i = 0; i < fns.length; i++) {
    if (typeof fns[i] !== 'function') throw usageError(stage, `argument ${i + first} must be an operator (a function), got ${describe(fns[i])}`)
  }
}

/**
 * `pipe(source, ...ops)` applies the operators left to right; `flow(...ops)`
 * composes operators into one reusable operator. They mean what fp-ts's own
 * mean (and have their types), so pipevine stages, IxJS operators and fp-ts
 * functions mix freely; an argument that is not a function is a `TypeError`
 * that names it.
 *
 * @example
 * ```ts
 * const enrich = flow(pool(fetchUser, 8), retry(3))
 * const users = pipe(ids, enrich, pool(store, 2))
 * ```
 */
export const pipe: typeof fpPipe = function pipe(source: unknown, ...ops: ((value: unknown) => unknown)[]): unknown {
  checkOperators('pipe', ops, 2)
  let value = source
  for (const op of ops) value = op(value)
  return value
} as typeof fpPipe

/**
 * Composes operators left to right into one operator (see `pipe`).
 *
 * @example
 * ```ts
 * const enrich = flow(pool(fetchUser, 8), retry(3))
 * ```
 */
export const flow: typeof fpFlow = function flow(...fns: ((...args: unknown[]) => unknown)[]): unknown {
  if (fns.length === 0) throw usageError('flow', 'needs at least one operator (a function), got none')
  checkOperators('flow', fns, 1)
  if (fns.length === 1) return fns[0]
  const [first, ...rest] = fns as [(...args: unknown[]) => unknown, ...((value: unknown) => unknown)[]]
  return function flowed(this: unknown, ...args: unknown[]): unknown {
    let value = first.apply(this, args)
    for (const fn of rest) value = fn(value)
    return value
  }
} as typeof fpFlow
