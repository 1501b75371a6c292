import type { Left, Right } from 'fp-ts/lib/Either.js'

export type { Either, Left, Right } from 'fp-ts/lib/Either.js'
export { isLeft, isRight, left, right } from 'fp-ts/lib/Either.js'

export { KIND_PLAIN, KIND_LEFT, KIND_RIGHT, eitherKind, type EitherKind } from './either-kind.js'

/** Allocation-light constructors (the same shapes fp-ts builds). */
export const mkRight = <A>(right: A): Right<A> => ({ _tag: 'Right', right })
export const mkLeft = <E>(left: E): Left<E> => ({ _tag: 'Left', left })
