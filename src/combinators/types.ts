import type { StageContext, StateOf, WorkerState } from '../exec/context.js'
import type { HandlerError } from '../exec/types.js'

/**
 * Options every stage accepts.
 *
 * @example
 * ```ts
 * pipe(lines, pool(parse, { name: 'parse', buffer: 64, concurrency: 4 }))
 * ```
 */
export interface StageOptions {
  /** The stage's name in reports and errors (default: the handler's name, else the combinator's). */
  name?: string
  /**
   * Input queue length (default 1): the stage holds at most `buffer` + workers items.
   * `0`: the stage never pulls ahead of its reader: it takes an item from upstream only
   * for a read waiting for one (so a `for await` runs one item at a time), for sources
   * where reading ahead is itself a side effect.
   */
  buffer?: number
}

/**
 * Options of stages that run handlers: `pool`, `mix`, `fork`.
 *
 * @example
 * ```ts
 * pool(query, {
 *   concurrency: 4, retries: 2, timeout: 10_000, ordered: true,
 *   init: async () => ({ conn: await connect(dbUrl) }), // the handler gets it as ctx.state.get('conn'), typed
 *   dispose: (state) => state.get('conn').close(),
 * })
 * ```
 */
export interface WorkerOptions<R = any, I = unknown> extends StageOptions {
  /** Extra attempts in place after a failure (default 0). */
  retries?: number
  /** Emit in source order (default false: emit as items finish). */
  ordered?: boolean
  /** Milliseconds per attempt; the attempt's signal aborts and it fails with a `TimeoutError` (default: none). */
  timeout?: number
  /** Per-worker set-up; its result (an object or Map) seeds `ctx.state`, and types it. */
  init?: (ctx: StageContext<R>) => I
  /** Per-worker tear-down; runs once per started worker however the run ends. */
  dispose?: (state: WorkerState<StateOf<Awaited<I>>>, ctx: StageContext<R>) => unknown
  /** Attempts start at most at this rate, retries and replays included (a token bucket). */
  rate?: RateLimit
}

/**
 * Adaptive concurrency: the stage finds its own limit in `[min, max]`, from
 * attempt latency against the best recent latency and from overload (timeouts,
 * errors with `retryAfterMs`, `status` 429/503), and reports it as
 * `StageReport.concurrency`. The stage holds up to `max` items in its workers.
 *
 * @example
 * ```ts
 * pool(fetchUser, { concurrency: { min: 1, max: 256, initial: 8 } })
 * ```
 */
export interface AdaptiveConcurrency {
  /** The lowest limit (an integer >= 1). */
  min: number
  /** The highest limit (an integer >= min): also how many workers the stage may have. */
  max: number
  /** Where it starts (default `min`); it doubles while latency stays flat. */
  initial?: number
}

/**
 * A token bucket: attempts (first ones, in-place retries, replays for a
 * downstream `retry`) start at most `perSecond` a second, after at most `burst`
 * at once. Any one-second window sees at most `perSecond + burst` starts.
 *
 * @example
 * ```ts
 * pool(fetchUser, { concurrency: 8, rate: { perSecond: 0.5 } }) // one start every 2 s
 * ```
 */
export interface RateLimit {
  /** Starts per second (> 0; fractions such as 0.5 work). */
  perSecond: number
  /** Starts allowed at once after a quiet spell (an integer >= 1, default 1). */
  burst?: number
}

/**
 * Any handler, for the arrays `mix` and `fork` take. Its parameters are compared
 * both ways (a method's are), so a handler that declares `StageContext<{ db: Db }>`
 * fits, and an unannotated `ctx` reads as `StageContext<unknown>`.
 */
export type AnyHandler = { bivariant(item: any, ctx: StageContext<unknown, any>): unknown }['bivariant']

/**
 * The item every handler of `Hs` accepts (the intersection of their item types).
 *
 * @example
 * ```ts
 * type In = ItemOf<[(doc: string) => number, (doc: string) => boolean]> // string
 * ```
 */
export type ItemOf<Hs extends readonly unknown[]> = Hs[number] extends (item: infer A, ...rest: any[]) => unknown ? A : never

/**
 * What the handlers of `Hs` need in `ctx.env`, as one intersection (`unknown`: nothing).
 *
 * @example
 * ```ts
 * type Needs = EnvOfHandlers<[(id: string, ctx: StageContext<{ db: Db }>) => Promise<Row>]> // { db: Db }
 * ```
 */
export type EnvOfHandlers<Hs extends readonly unknown[]> = Hs[number] extends (item: any, ctx: StageContext<infer R, any>) => unknown ? R : unknown

/**
 * The typed failures of the handlers of `Hs` (see `HandlerError`): the `Left` types they may return.
 *
 * @example
 * ```ts
 * type Failures = ErrorOfHandlers<[(id: string) => Either<{ notFound: string }, Row>]> // { notFound: string }
 * ```
 */
export type ErrorOfHandlers<Hs extends readonly unknown[]> = { [K in keyof Hs]: Hs[K] extends (...args: any[]) => infer O ? HandlerError<O> : never }[number]
