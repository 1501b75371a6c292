import type { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import type { Either, Left, Right } from 'fp-ts/lib/Either.js'
import type { StageContext } from './context.js'
import type { KillSwitch } from './kill.js'
import type { Skip } from './skip.js'
import type { StageError } from '../result/stage-error.js'

/**
 * A pipeline: an `AsyncIterable` that is also an IxJS `AsyncIterableX`, so
 * `for await`, `.pipe(op, …)` and IxJS operators all work on it. Each iteration
 * runs the pipeline afresh; breaking out of the loop stops every stage.
 *
 * @example
 * ```ts
 * import { filter } from 'ix/asynciterable/operators/filter'
 * const active: Flow<User> = pipe(ids, pool(fetchUser, 8), values(), filter((user: User) => user.active))
 * for await (const user of active) console.log(user.name)
 * ```
 */
export type Flow<T> = AsyncIterableX<T>

/**
 * Anything a pipeline can start from: arrays and other iterables, async
 * iterables and generators, other pipelines, Node `Readable`s.
 *
 * @example
 * ```ts
 * async function* pages() { for (let page = 1; page <= 3; page++) yield page }
 * const sources: Source<number>[] = [[1, 2, 3], new Set([4, 5]), pages(), from([6, 7])]
 * ```
 */
export type Source<T> = Iterable<T> | AsyncIterable<T>

/**
 * A pipeline step: takes any source, returns a Flow. Every stage is one, and so
 * is any function of that shape, so steps of your own compose like stages.
 *
 * @example
 * ```ts
 * import { filter } from 'ix/asynciterable/operators/filter'
 * const adults: Operator<User, User> = (source) => from(source).pipe(filter((user) => user.age >= 18))
 * pipe(ids, pool(fetchUser, 8), values(), adults, pool(store, 2))
 * ```
 */
export type Operator<A, B> = (source: Source<A>) => Flow<B>

/**
 * What a stage accepts: plain values, or the `Either`s an earlier stage emitted
 * (a `Left` passes through the stage untouched), or promises of either (awaited first).
 *
 * @example
 * ```ts
 * const load: Operator<StageInput<number>, StageOutput<User>> = pool(fetchUser, 8)
 * ```
 */
export type StageInput<A> = A | Either<StageError, A> | PromiseLike<A | Either<StageError, A>>

/**
 * What a stage emits: `Right(value)`, or `Left(StageError)` for an item it gave up on.
 *
 * @example
 * ```ts
 * for await (const result of pipe(ids, pool(fetchUser, 8))) // result: StageOutput<User>
 *   if (isRight(result)) console.log(result.right.name)
 * ```
 */
export type StageOutput<B> = Either<StageError, B>

/**
 * A stage's function. It fails when it throws, rejects, or returns a `Left`.
 *
 * @example
 * ```ts
 * const double: Handler<number, number> = async (n, { signal }) => n * 2
 * ```
 */
export type Handler<A, B, R = unknown> = (
  item: A,
  ctx: StageContext<R>,
) => B | Promise<B> | Either<unknown, B> | Promise<Either<unknown, B>> | KillSwitch | Promise<KillSwitch> | Skip | Promise<Skip>

/**
 * The value a handler's return type stands for: promises awaited, `Either`s unwrapped, kill switches and `skip` left out.
 *
 * @example
 * ```ts
 * type Saved = HandlerValue<Promise<Either<Error, User> | KillSwitch>> // User
 * ```
 */
export type HandlerValue<O> = Unwrap<Awaited<O>>
// A `Left` member stands for a failure, not a value: it adds nothing to the output type.
type Unwrap<T> = T extends KillSwitch | Skip ? never : T extends Left<unknown> ? never : T extends Right<infer B> ? Exclude<B, Skip> : T

/** A `Right`'s value; a `Left` stands for no value; a plain value is itself. Distributes over the Left|Right union: what `collect` keeps and the stream adapters give. */
export type ValueOf<T> = T extends { readonly _tag: 'Right'; readonly right: infer B } ? B : T extends { readonly _tag: 'Left' } ? never : T
