import type { ReaderTaskEither } from 'fp-ts/lib/ReaderTaskEither.js'
import type { StageContext } from '../exec/context.js'
import { checkFunction } from '../internal/validate.js'

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
