import type { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import type { Either, Left, Right } from 'fp-ts/lib/Either.js'
import type { StageContext } from '../exec/context.js'
import type { KillSwitch } from '../exec/kill.js'
import type { StageError } from '../result/stage-error.js'

/**
 * A pipeline: an `AsyncIterable` that is also an IxJS `AsyncIterableX`, so
 * `for await`, `.pipe(op, …)` and IxJS operators all work on it.
 */
export type Flow<T> = AsyncIterableX<T>

/** Anything a pipeline can start from. */
export type Source<T> = Iterable<T> | AsyncIterable<T>

/** A pipeline step: takes any source, returns a Flow. */
export type Operator<A, B> = (source: Source<A>) => Flow<B>

/** What a stage accepts: plain values, or the `Either`s an earlier stage emitted. */
export type StageInput<A> = A | Either<StageError, A>

/** What a stage emits. */
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
) => B | Promise<B> | Either<unknown, B> | Promise<Either<unknown, B>> | KillSwitch | Promise<KillSwitch>

/** The value a handler's return type stands for: promises awaited, `Either`s unwrapped, kill switches left out. */
export type HandlerValue<O> = Unwrap<Awaited<O>>
// A `Left` member stands for a failure, not a value: it adds nothing to the output type.
type Unwrap<T> = T extends KillSwitch ? never : T extends Left<unknown> ? never : T extends Right<infer B> ? B : T

/** Options every stage accepts. */
export interface StageOptions {
  /** The stage's name in reports and errors (default: the handler's name, else the combinator's). */
  name?: string
  /** Input queue length (default 1): the stage holds at most `buffer` + workers items. */
  buffer?: number
}

/** Options of stages that run handlers: `pool`, `mix`, `fork`. */
export interface WorkerOptions<R = any> extends StageOptions {
  /** Extra attempts in place after a failure (default 0). */
  retries?: number
  /** Emit in source order (default false: emit as items finish). */
  ordered?: boolean
  /** Milliseconds per attempt; the attempt's signal aborts and it fails with a `TimeoutError` (default: none). */
  timeout?: number
  /** Per-worker set-up; its result (an object or Map) seeds `ctx.state`. */
  init?: (ctx: StageContext<R>) => unknown
  /** Per-worker tear-down; runs once per started worker however the run ends. */
  dispose?: (state: StageContext<R>['state'], ctx: StageContext<R>) => unknown
}
