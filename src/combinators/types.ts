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
}
