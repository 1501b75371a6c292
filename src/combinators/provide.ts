import { provideEnv } from '../exec/env.js'
import type { ProvideChecked } from '../exec/env-check.js'
import type { Flow, Source } from '../exec/types.js'

/**
 * What `provide(env)` returns: an operator that takes a pipeline whose needs
 * `env` meets (the compiler checks it, naming the keys missing or mistyped), and
 * gives one that needs nothing.
 *
 * @example
 * ```ts
 * const withDb: Provided<{ db: Db }> = provide({ db })
 * ```
 */
export interface Provided<R> {
  <S extends Source<unknown>>(source: ProvideChecked<S, R>): Flow<S extends Source<infer T> ? T : never>
}

/**
 * Supplies the environment (`ctx.env`) to every stage upstream of it, for use
 * with a plain `for await` (with `run`/`collect`, their `env` option does the same).
 * It replaces any outer environment for those stages, so `env` must hold all they
 * need: a missing or wrongly typed key is a compile error at the `provide`.
 *
 * @example
 * ```ts
 * for await (const r of pipe(ids, pool(load, 4), provide({ db }))) console.log(r)
 * ```
 */
export function provide<R>(env: R): Provided<R> {
  return function provideOperator<T>(source: Source<T>): Flow<T> {
    return provideEnv<T>(source, env)
  } as Provided<R>
}
