import type { Either, Left, Right } from 'fp-ts/lib/Either.js'

export type { Either, Left, Right } from 'fp-ts/lib/Either.js'
export { isLeft, isRight, left, right } from 'fp-ts/lib/Either.js'

/**
 * `'Left'` or `'Right'` for an fp-ts `Either` (its `_tag`, and the key that goes with it),
 * else undefined. Never throws: a value whose `_tag` can't be read (a revoked Proxy) is no Either.
 */
export function eitherTag(value: unknown): 'Left' | 'Right' | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  try {
    const tag = (value as { _tag?: unknown })._tag
    if (tag === 'Right') return 'right' in value ? tag : undefined
    if (tag === 'Left') return 'left' in value ? tag : undefined
  } catch {
    // not an Either
  }
  return undefined
}

/** True for an fp-ts `Either` value (`{ _tag: 'Left', left }` or `{ _tag: 'Right', right }`). */
export function isEither(value: unknown): value is Either<unknown, unknown> {
  return eitherTag(value) !== undefined
}

export function isLeftValue(value: unknown): value is Left<unknown> {
  return eitherTag(value) === 'Left'
}

export function isRightValue(value: unknown): value is Right<unknown> {
  return eitherTag(value) === 'Right'
}

/** Allocation-light constructors (the same shapes fp-ts builds). */
export const mkRight = <A>(right: A): Right<A> => ({ _tag: 'Right', right })
export const mkLeft = <E>(left: E): Left<E> => ({ _tag: 'Left', left })
