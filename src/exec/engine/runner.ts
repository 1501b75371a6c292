import type { StageContext, WorkerState } from '../context.js'
import type { Scope } from '../scope.js'
import type { StageStats } from '../stats.js'
import type { Limiter } from './limiter.js'

export type HandlerFn = (item: unknown, ctx: StageContext<unknown>) => unknown

/** How each worker of a stage runs its items: the stage's options that every runner applies. */
export interface AttemptSettings {
  /** Attempts in place beyond the first. */
  readonly retries: number
  /** Per-attempt timeout in ms (0: none). */
  readonly timeout: number
  readonly init: ((ctx: StageContext<unknown>) => unknown) | undefined
  readonly dispose: ((state: WorkerState, ctx: StageContext<unknown>) => unknown) | undefined
}

/** The settings a stage's workers share. */
export interface WorkerConfig extends AttemptSettings {
  readonly stats: StageStats
  readonly scope: Scope
  /** The stage's signal: aborted when the stage stops. */
  readonly signal: AbortSignal
  /**
   * Admits each attempt (see Limiter); undefined: every attempt starts at once.
   * Read per attempt: a stage without one gets a pause-only limiter on its first
   * `retryAfterMs` error (see pauseStage).
   */
  limiter: Limiter | undefined
}

/**
 * Runs a stage's items to results, one at a time (a Worker, a fork slot) or
 * several at once (a ThreadRunner: see `limit`), and reports each item exactly
 * once to its WorkerOwner. A new kind of runner (a remote one, say) implements
 * this, keeps its life in a RunnerLife and each item's attempts in an
 * AttemptRecord (runner-life.ts), asks `admitted(config.limiter, ticket)`
 * before every attempt and reports it with `ticketEnded`/`ticketAbandoned`
 * (limiter.ts), and is made by the stage spec's `createRunner`.
 */
export interface Runner {
  readonly index: number
  readonly handlerIndex: number
  /** The current item's position in the stage's input. */
  readonly seq: number
  busy: boolean
  /** Set when the runner can take no more items (its `init` failed). */
  readonly broken: unknown
  /** `index`: the item's position in the stage's input (`ctx.index`), `seq` unless a replay gives its original one. */
  run(item: unknown, seq: number, priorErrors?: unknown[] | null, maxExtra?: number, index?: number): void
  retire(): void
  dispose(): Promise<void> | undefined
  /**
   * Multi-item runners only (a worker thread that takes items in batches, see
   * src/exec/thread/thread-runner.ts): such a runner holds several items at once.
   * `limit()` is how many it takes now (it changes as the runner learns how long
   * items take), `maxLimit` the most it ever takes, `held` how many it holds.
   * It sets `seq` to each item's position just before reporting that item settled.
   */
  readonly held?: number
  limit?(): number
  readonly maxLimit?: number
}

/** Who hears how a runner's item ended. */
export interface WorkerOwner {
  /** `ok`: the handler's value; otherwise `errors` holds every attempt's error. */
  settled(runner: Runner, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void
}
