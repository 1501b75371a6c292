// The compile-time check of a run's `env` (used by `run`, `collect` and the stream adapters): types only.
import type { EnvOf } from './types.js'
import type { StageError } from '../result/stage-error.js'

/**
 * The `env` a pipeline that needs `R` takes: each key given has `R`'s type for it
 * (checked where it is written); the keys left out are reported by `EnvChecked`.
 *
 * @example
 * ```ts
 * const env: EnvArg<{ db: Db }, 'db'> = { db }
 * ```
 */
export type EnvArg<R, K extends PropertyKey> = unknown extends R ? unknown : R extends object ? { [P in K]: P extends keyof R ? R[P] : unknown } : R

/**
 * `F` when the `env` given (its keys `K`) holds every key `F` needs; else a
 * one-line message naming the keys left out, which the compiler shows as the
 * type the pipeline "is not assignable to".
 *
 * @example
 * ```ts
 * const rows = pipe(ids, pool(load, 4))
 * type Unmet = EnvChecked<typeof rows, never> // "missing env.db"
 * ```
 */
export type EnvChecked<F, K extends PropertyKey> = unknown extends EnvOf<F> ? F
  : EnvOf<F> extends object ? EnvKeysChecked<F, K>
  : F // an env that is not an object is checked where it is written, not for presence

type EnvKeysChecked<F, K extends PropertyKey> = [Exclude<RequiredKeys<EnvOf<F>>, K>] extends [never] ? F
  : `missing env.${Exclude<RequiredKeys<EnvOf<F>>, K> & string}`

/** The keys an env must hold: optional ones and index signatures may be left out. */
type RequiredKeys<R> = { [P in keyof R]-?: {} extends Pick<R, P> ? never : P }[keyof R]

/** The items of a pipeline or any source. */
export type ItemOf<F> = F extends AsyncIterable<infer T> ? T : F extends Iterable<infer T> ? T : never

/** Anything `run` drains. */
export type AnyFlow = AsyncIterable<unknown> | Iterable<unknown>

/** The `E` of the `StageError<E>`s among a pipeline's items. */
export type ErrorOf<T> = T extends { readonly _tag: 'Left'; readonly left: StageError<infer E> } ? E : never


/**
 * `S` when `env` meets all that `S` needs; else a one-line message naming the keys
 * it lacks or gives a wrong type (what `provide(env)` checks).
 *
 * @example
 * ```ts
 * const rows = pipe(ids, pool(load, 4))
 * type Unmet = ProvideChecked<typeof rows, { dbb: number }> // "missing env.db"
 * ```
 */
export type ProvideChecked<S, E> = [E] extends [EnvOf<S>] ? S
  : EnvOf<S> extends object ? ProvideMessage<EnvOf<S>, E>
  : `env must be a ${TypeName<EnvOf<S>>}`

type ProvideMessage<R, E> = [Exclude<RequiredKeys<R>, keyof E>] extends [never]
  ? `wrong type for env.${WrongKeys<R, E> & string}`
  : `missing env.${Exclude<RequiredKeys<R>, keyof E> & string}`

/** The keys of `R` that `E` gives with a type `R` does not accept. */
type WrongKeys<R, E> = { [P in keyof R & keyof E]: [E[P]] extends [R[P]] ? never : P }[keyof R & keyof E]

type TypeName<T> = T extends string ? 'string' : T extends number ? 'number' : T extends boolean ? 'boolean' : 'value of the type its handlers declare'
