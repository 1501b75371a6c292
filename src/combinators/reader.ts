import type { ReaderTaskEither } from 'fp-ts/lib/ReaderTaskEither.js'
import type { TaskEither } from 'fp-ts/lib/TaskEither.js'
import type { Either } from 'fp-ts/lib/Either.js'
import type { StageContext } from '../exec/context.js'
import { checkFunction } from '../exec/validate.js'

/** The handler keeps `f`'s name, which a stage takes as its default name. */
function named<H extends (...args: never[]) => unknown>(handler: H, f: { name: string }): H {
  if (f.name !== '') Object.defineProperty(handler, 'name', { value: f.name, configurable: true })
  return handler
}

/**
 * Adapts an fp-ts `ReaderTaskEither`-style function to a handler: the reader's
 * environment is the stage context, a `Left` fails the attempt. The stage is
 * named after `f`, needs `f`'s `R` in `ctx.env`, and its `StageError`s carry `E`.
 *
 * @example
 * ```ts
 * const save = (user: User): RTE.ReaderTaskEither<StageContext<{ db: Db }>, Error, Id> =>
 *   ({ env }) => TE.tryCatch(() => env.db.put(user), E.toError)
 * pipe(users, pool(fromReaderTaskEither(save), 4)) // stage "save", needs { db: Db }
 * ```
 */
export function fromReaderTaskEither<A, R, E, B>(f: (item: A) => ReaderTaskEither<StageContext<R>, E, B>): (item: A, ctx: StageContext<R>) => Promise<Either<E, B>> {
  checkFunction('fromReaderTaskEither', 'f', f)
  return named(function readerTaskEitherHandler(item: A, ctx: StageContext<R>) {
    return f(item)(ctx)()
  }, f)
}

/**
 * Adapts a function that returns an fp-ts `TaskEither` to a handler: the task is
 * run for each attempt, and its `Left` fails the attempt (so `retries` and
 * `retry` run it again). The context is the second argument, as for any handler.
 * The stage is named after `f`, and its `StageError`s carry `E`.
 *
 * @example
 * ```ts
 * const fetchJson = (url: string, { signal }: StageContext) =>
 *   TE.tryCatch(() => fetch(url, { signal }).then((r) => r.json()), E.toError)
 * pipe(urls, pool(fromTaskEither(fetchJson), { concurrency: 8, retries: 2 })) // stage "fetchJson"
 * ```
 */
export function fromTaskEither<A, E, B, R = unknown>(f: (item: A, ctx: StageContext<R>) => TaskEither<E, B>): (item: A, ctx: StageContext<R>) => Promise<Either<E, B>> {
  checkFunction('fromTaskEither', 'f', f)
  return named(function taskEitherHandler(item: A, ctx: StageContext<R>) {
    return f(item, ctx)()
  }, f)
}
