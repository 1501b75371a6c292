/**
 * `pipe(source, ...ops)` applies the operators left to right; `flow(...ops)`
 * composes operators into one reusable operator. These are fp-ts's own, so
 * pipevine stages, IxJS operators and fp-ts functions mix freely.
 *
 * @example
 * ```ts
 * const enrich = flow(pool(fetchUser, 8), retry(3))
 * const users = pipe(ids, enrich, pool(store, 2))
 * ```
 */
export { pipe, flow } from 'fp-ts/lib/function.js'
