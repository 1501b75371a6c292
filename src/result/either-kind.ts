/*
 * Kept apart from either.ts, which re-exports fp-ts: the worker-thread bundle needs
 * `eitherKind` only, and loading fp-ts in every thread would add to each thread's start.
 */

/** What `eitherKind` says a value is. */
export const KIND_PLAIN = 0
export const KIND_LEFT = 1
export const KIND_RIGHT = 2
export type EitherKind = typeof KIND_PLAIN | typeof KIND_LEFT | typeof KIND_RIGHT

/**
 * The one definition of "is an Either" that every stage uses: `{ _tag: 'Left', left }`
 * or `{ _tag: 'Right', right }`, the shapes fp-ts builds. A look-alike (the tag
 * without its key) is a plain value, and so is an object whose tag can't even be
 * read (a revoked Proxy, a throwing getter).
 */
export function eitherKind(value: unknown): EitherKind {
  if (typeof value !== 'object' || value === null) return KIND_PLAIN
  try {
    const tag = (value as { _tag?: unknown })._tag
    if (tag === 'Right') return 'right' in value ? KIND_RIGHT : KIND_PLAIN
    if (tag === 'Left') return 'left' in value ? KIND_LEFT : KIND_PLAIN
  } catch {
    // unreadable: not an Either
  }
  return KIND_PLAIN
}
