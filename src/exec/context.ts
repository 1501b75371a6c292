import type { Logger } from './logger.js'

/**
 * The state of a stage without `init`: any key, any value.
 *
 * @example
 * ```ts
 * pool((url: string, { state }: StageContext<unknown, DefaultState>) => state.get('anything'))
 * ```
 */
export type DefaultState = Record<PropertyKey, any>

/**
 * The state `init`'s result gives: a plain object's own properties, or a Map's entries.
 *
 * @example
 * ```ts
 * type S = StateOf<Map<'conn', Db>> // { conn: Db }: ctx.state.get('conn') is a Db
 * ```
 */
export type StateOf<I> = [I] extends [void | undefined | null] ? DefaultState
  : I extends ReadonlyMap<infer K, infer V> ? Record<K & PropertyKey, V>
  : I extends object ? I : DefaultState

/**
 * A worker's own state: persists across the items that worker handles, and is
 * never shared with another worker. A `Map`, so `get`/`set`/`has`/`delete`/`values` work as usual.
 * `S` types its keys and values: `init`'s result gives it (any key, any value without `init`).
 *
 * @example
 * ```ts
 * pool(async (url: string, { state }) => {
 *   if (!state.has('client')) state.set('client', makeClient())
 *   return state.get('client').get(url)
 * }, 4)
 * ```
 */
export class WorkerState<S = DefaultState> extends Map<PropertyKey, any> {
  /** Seeds the state from `init`'s result: a Map or a plain object's entries. */
  static seed(state: WorkerState<any>, value: unknown): void {
    if (value instanceof Map) for (const [k, v] of value) state.set(k, v)
    else if (value !== null && typeof value === 'object') for (const k of Reflect.ownKeys(value)) state.set(k, (value as Record<PropertyKey, unknown>)[k])
  }
}

// Typed accessors over the Map's own: `init` seeded every key of `S`, so `get` returns `S[K]`.
export interface WorkerState<S> {
  /** The value `init` (or a `set`) stored under `key`. */
  get<K extends keyof S>(key: K): S[K]
  /** Stores `value` under `key`, typed as `init`'s result types it. */
  set<K extends keyof S>(key: K, value: S[K]): this
}

/**
 * What every handler receives beside its item: the reader environment of the run.
 *
 * @example
 * ```ts
 * const store = async (user: User, { env, signal }: StageContext<{ db: Db }>) => env.db.put(user, { signal })
 * pool(store, 4) // the pipeline now needs { db: Db }: run(…, { env: { db } }) or provide({ db })
 * ```
 */
export interface StageContext<R = unknown, S = DefaultState> {
  /** The run's environment (`run`/`collect` option `env`, or `provide(env)`): declaring `R` makes the pipeline need it. */
  readonly env: R
  /** Persistent per worker, survives across items; typed by `init`'s result (`S`). */
  readonly state: WorkerState<S>
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
