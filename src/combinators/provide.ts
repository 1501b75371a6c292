import { provideEnv } from '../exec/env.js'
import type { Operator } from '../exec/types.js'

/**
 * Supplies the environment (`ctx.env`) to every stage upstream of it, for use
 * with a plain `for await` (with `run`/`collect`, their `env` option does the same).
 *
 * @example
 * ```ts
 * for await (const r of pipe(ids, pool(load, 4), provide({ db }))) console.log(r)
 * ```
 */
export function provide<T, R>(env: R): Operator<T, T> {
  return function provideOperator(source) {
    return provideEnv<T>(source, env)
  }
}
