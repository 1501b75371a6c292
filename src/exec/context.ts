import type { Logger } from './logger.js'

/**
 * A worker's own state: persists across the items that worker handles, and is
 * never shared with another worker. A `Map`, so `get`/`set`/`has`/`delete`/`values` work as usual.
 *
 * @example
 * ```ts
 * pool(async (url: string, { state }) => {
 *   if (!state.has('client')) state.set('client', makeClient())
 *   return state.get('client').get(url)
 * }, 4)
 * ```
 */
export class WorkerState extends Map<PropertyKey, any> {
  /** Seeds the state from `init`'s result: a Map or a plain object's entries. */
  static seed(state: WorkerState, value: unknown): void {
    if (value instanceof Map) for (const [k, v] of value) state.set(k, v)
    else if (value !== null && typeof value === 'object') for (const k of Reflect.ownKeys(value)) state.set(k, (value as Record<PropertyKey, unknown>)[k])
  }
}

/**
 * What every handler receives beside its item: the reader environment of the run.
 *
 * @example
 * ```ts
 * const store = async (user: User, { env, signal }: StageContext<{ db: Db }>) => env.db.put(user, { signal })
 * ```
 */
export interface StageContext<R = unknown> {
  /** The run's environment (`run`/`collect` option `env`, or `provide(env)`). */
  readonly env: R
  /** Persistent per worker, survives across items. */
  readonly state: WorkerState
  /** Aborted on cancel, kill, this attempt's timeout, or the consumer's `break`. */
  readonly signal: AbortSignal
  /** 1 on the first try; keeps counting across `retries` and a downstream `retry`. */
  readonly attempt: number
  /**
   * The item's position in the stage's input, from 0 (p-map's `index`): `Left`s passing
   * through count too. It stays the same across the item's attempts, in place or replayed by a downstream `retry`.
   */
  readonly index: number
  /** This worker's index in its stage. */
  readonly worker: number
  /** The stage's name. */
  readonly stage: string
  /** The run's logger (silent unless `log` is set). */
  readonly log: Logger
}
