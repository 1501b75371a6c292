import type { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import type { Either, Left, Right } from 'fp-ts/lib/Either.js'
import type { StageContext, DefaultState } from './context.js'
import type { KillSwitch } from './kill.js'
import type { Skip } from './skip.js'
import type { StageError } from '../result/stage-error.js'

declare const envNeeds: unique symbol

/**
 * What a pipeline's handlers need in `ctx.env`, at the type level only: never set
 * at run time, so a pipeline stays a plain `AsyncIterable`. Contravariant, as a
 * Reader's environment is: a pipeline that needs `{ db }` is not one that needs
 * nothing, and an `env` with more than it needs is fine.
 *
 * @example
 * ```ts
 * const needs: Needs<{ db: Db }> = pipe(ids, pool(load, 4)) // a pipeline that needs { db: Db }
 * ```
 */
export interface Needs<R> {
  /** @hidden Type-level only: what `ctx.env` must hold. */
  readonly [envNeeds]?: (env: R) => void
}

/**
 * The environment a pipeline needs: the intersection of what its handlers
 * declared with `StageContext<R>` (`unknown`: it needs nothing).
 *
 * @example
 * ```ts
 * const rows = pipe(ids, pool(load, 4))
 * const env: EnvOf<typeof rows> = { db } // { db: Db }
 * ```
 */
export type EnvOf<F> = F extends Needs<infer R> ? R : unknown

/**
 * A pipeline: an `AsyncIterable` that is also an IxJS `AsyncIterableX`, so
 * `for await`, `.pipe(op, …)` and IxJS operators all work on it. Each iteration
 * runs the pipeline afresh; breaking out of the loop stops every stage. `R` is
 * the environment its handlers need (see `run`'s `env` and `provide`).
 *
 * @example
 * ```ts
 * import { filter } from 'ix/asynciterable/operators/filter'
 * const active: Flow<User> = pipe(ids, pool(fetchUser, 8), values(), filter((user: User) => user.active))
 * for await (const user of active) console.log(user.name)
 * ```
 */
export type Flow<T, R = unknown> = AsyncIterableX<T> & Needs<R>

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
export type Operator<A, B, R = unknown> = (source: Source<A>) => Flow<B, R>

/**
 * What pipevine's stages are: an operator that keeps what its source needs
 * (`R0`, inferred when `pipe`/`flow` apply it) and adds what its own handlers
 * need (`R`). That is how `pipe` collects every stage's needs as one intersection.
 *
 * @example
 * ```ts
 * const loadRows: Stage<StageInput<number>, StageOutput<Row>, { db: Db }> = pool(load, 4)
 * const cache = (row: Row, { env }: StageContext<{ cache: Map<string, Row> }>) => env.cache.set(row.id, row)
 * const cached = pipe(ids, loadRows, pool(cache)) // Flow<…, { db: Db } & { cache: Map<string, Row> }>
 * ```
 */
export interface Stage<A, B, R = unknown> {
  <R0 = unknown>(source: Source<A> & Needs<R0>): Flow<B, Both<R0, R>>
}

/** What a stage and its source need together: `R0 & R`, flattened into one object type so it reads as one. */
export type Both<R0, R> = unknown extends R0 ? R : unknown extends R ? R0 : [R0, R] extends [object, object] ? { [K in keyof (R0 & R)]: (R0 & R)[K] } : R0 & R

/**
 * What `pool`, `mix` and `fork` are: a `Stage` that also labels its failures.
 * Its `Left`s carry `StageError<E | L>`: `E` from its own handlers, `L` from the
 * `Left`s of its source, which pass through it untouched.
 *
 * @example
 * ```ts
 * class NotFound extends Error {}
 * const find = (id: number, { env }: StageContext<{ db: Db }>) => TE.tryCatch(() => env.db.put(id), () => new NotFound())
 * const finder: WorkerStage<number, Id, { db: Db }, NotFound> = pool(fromTaskEither(find), 4)
 * ```
 */
export interface WorkerStage<A, B, R = unknown, E = never> {
  <R0 = unknown, L = never>(source: Source<A | Either<StageError<L>, A> | PromiseLike<A | Either<StageError<L>, A>>> & Needs<R0>): Flow<Either<StageError<E | L>, B>, Both<R0, R>>
}

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
export type StageOutput<B, E = never> = Either<StageError<E>, B>

/**
 * A stage's function. It fails when it throws, rejects, or returns a `Left`.
 *
 * @example
 * ```ts
 * const double: Handler<number, number> = async (n, { signal }) => n * 2
 * ```
 */
export type Handler<A, B, R = unknown, S = DefaultState> = (
  item: A,
  ctx: StageContext<R, S>,
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

/**
 * The typed failures of a handler's return type: the `E` of the `Left`s it may
 * return (`never` when it returns none). What it throws is not part of it.
 *
 * @example
 * ```ts
 * type Failure = HandlerError<Promise<Either<RangeError, User>>> // RangeError
 * ```
 */
export type HandlerError<O> = LeftOf<Awaited<O>>
type LeftOf<T> = 0 extends 1 & T ? never : T extends Left<infer E> ? E : never

/** A `Right`'s value; a `Left` stands for no value; a plain value is itself. Distributes over the Left|Right union: what `collect` keeps and the stream adapters give. */
export type ValueOf<T> = T extends { readonly _tag: 'Right'; readonly right: infer B } ? B : T extends { readonly _tag: 'Left' } ? never : T
