import type { StageContext } from '../exec/context.js'

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
  /** Input queue length (default 1): the stage holds at most `buffer` + workers items. */
  buffer?: number
}

/**
 * Options of stages that run handlers: `pool`, `mix`, `fork`.
 *
 * @example
 * ```ts
 * pool(query, {
 *   concurrency: 4, retries: 2, timeout: 10_000, ordered: true,
 *   init: async () => ({ conn: await connect(dbUrl) }), // the handler gets it as ctx.state.get('conn')
 *   dispose: (state) => state.get('conn').close(),
 * })
 * ```
 */
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
