import type { Either, Left, Right } from 'fp-ts/lib/Either.js'

export type { Either, Left, Right } from 'fp-ts/lib/Either.js'
export { isLeft, isRight, left, right } from 'fp-ts/lib/Either.js'

/** True for an fp-ts `Either` value (`{ _tag: 'Left', left }` or `{ _tag: 'Right', right }`). */
export function isEither(value: unknown): value is Either<unknown, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const tag = (value as { _tag?: unknown })._tag
  return (tag === 'Right' && 'right' in value) || (tag === 'Left' && 'left' in value)
}

export function isLeftValue(value: unknown): value is Left<unknown> {
  return typeof value === 'object' && value !== null && (value as { _tag?: unknown })._tag === 'Left' && 'left' in value
}

export function isRightValue(value: unknown): value is Right<unknown> {
  return typeof value === 'object' && value !== null && (value as { _tag?: unknown })._tag === 'Right' && 'right' in value
}

/** Allocation-light constructors (the same shapes fp-ts builds). */
export const mkRight = <A>(right: A): Right<A> => ({ _tag: 'Right', right })
export const mkLeft = <E>(left: E): Left<E> => ({ _tag: 'Left', left })
