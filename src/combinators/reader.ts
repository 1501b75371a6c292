import type { ReaderTaskEither } from 'fp-ts/lib/ReaderTaskEither.js'
import type { TaskEither } from 'fp-ts/lib/TaskEither.js'
import type { StageContext } from '../exec/context.js'
import { checkFunction } from '../exec/validate.js'

/**
 * Adapts an fp-ts `ReaderTaskEither`-style function to a handler: the reader's
 * environment is the stage context, a `Left` fails the attempt.
 *
 * @example
 * ```ts
 * const save = (user: User): RTE.ReaderTaskEither<StageContext<{ db: Db }>, Error, Id> =>
 *   ({ env }) => TE.tryCatch(() => env.db.put(user), E.toError)
 * pipe(users, pool(fromReaderTaskEither(save), 4))
 * ```
 */
export function fromReaderTaskEither<A, R, E, B>(f: (item: A) => ReaderTaskEither<StageContext<R>, E, B>) {
  checkFunction('fromReaderTaskEither', 'f', f)
  return function readerTaskEitherHandler(item: A, ctx: StageContext<R>) {
    return f(item)(ctx)()
  }
}

/**
 * Adapts a function that returns an fp-ts `TaskEither` to a handler: the task is
 * run for each attempt, and its `Left` fails the attempt (so `retries` and
 * `retry` run it again). The context is the second argument, as for any handler.
 *
 * @example
 * ```ts
 * const fetchJson = (url: string, { signal }: StageContext) =>
 *   TE.tryCatch(() => fetch(url, { signal }).then((r) => r.json()), E.toError)
 * pipe(urls, pool(fromTaskEither(fetchJson), { concurrency: 8, retries: 2 }))
 * ```
 */
export function fromTaskEither<A, E, B, R = unknown>(f: (item: A, ctx: StageContext<R>) => TaskEither<E, B>) {
  checkFunction('fromTaskEither', 'f', f)
  return function taskEitherHandler(item: A, ctx: StageContext<R>) {
    return f(item, ctx)()
  }
}
