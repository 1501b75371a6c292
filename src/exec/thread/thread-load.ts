/*
 * What a thread sets up once, in the thread: its handler (a module's export,
 * or a function rebuilt from its source text) and its env.
 */
import type { InitInfo } from './thread-protocol.js'

/** The handler as the thread calls it (the context is the thread's own, see thread-worker.ts). */
export type Fn = (item: unknown, ctx: unknown) => unknown

export async function loadExport(url: string, name: string): Promise<Fn | string> {
  const mod = (await import(url)) as Record<string, unknown>
  let value = mod[name]
  // A CommonJS module: its exports are `default`.
  if (value === undefined && name !== 'default') value = (mod.default as Record<string, unknown> | undefined)?.[name]
  if (name === 'default' && typeof value === 'object' && value !== null && typeof (value as { default?: unknown }).default === 'function') {
    value = (value as { default: unknown }).default
  }
  if (typeof value === 'function') return value as Fn
  if (value === undefined) {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function')
    return `module ${url} has no export \`${name}\`${names.length > 0 ? ` (its function exports: ${names.join(', ')})` : ''}`
  }
  return `export \`${name}\` of module ${url} is not a function (it is ${value === null ? 'null' : typeof value})`
}

/** esbuild (and tsx) may wrap inner functions in `__name(fn, "name")` calls; give the rebuilt function that helper. */
const nameHelper = <T>(target: T, value: string): T => {
  try {
    Object.defineProperty(target, 'name', { value, configurable: true })
  } catch {
    // a frozen function keeps its name
  }
  return target
}

export function compile(source: string): Fn {
  const tail = '\n//# sourceURL=pipevine-thread-fn.js'
  let fn: unknown
  try {
    fn = new Function('__name', `return (${source}\n);${tail}`)(nameHelper)
  } catch (first) {
    // Method shorthand (`run(x) { … }`) is not an expression on its own.
    try {
      const holder = new Function('__name', `return ({ ${source}\n });${tail}`)(nameHelper) as Record<string, unknown>
      fn = Object.values(holder)[0]
    } catch {
      throw first
    }
  }
  if (typeof fn !== 'function') throw new TypeError('thread(fn): the function could not be rebuilt from its source')
  return fn as Fn
}

/** A function sent by source can't see the variables around it; say so plainly. */
export function explain(error: unknown): unknown {
  try {
    return explainMissing(error)
  } catch {
    return error // a revoked Proxy, or an error that can't be changed
  }
}

function explainMissing(error: unknown): unknown {
  if (!(error instanceof ReferenceError)) return error
  const match = /^(\S+) is not defined$/.exec(error.message)
  if (match === null) return error
  const name = match[1]!
  const message =
    `thread(fn): \`${name}\` is not defined in the worker thread. A function given to thread() is sent as source text and ` +
    `can't see the variables around it (here \`${name}\`); move the function (and what it uses) into a module and use thread(moduleUrl, exportName) instead`
  const stack = error.stack?.replace(/^ReferenceError: .*$/m, `ReferenceError: ${message}`)
  error.message = message
  if (stack !== undefined) error.stack = stack
  return error
}

/** The env the thread was sent; reading a key that could not be cloned throws, saying why it is missing. */
export function envOf(given: InitInfo): unknown {
  const env = given.env
  if (given.envDropped !== undefined && typeof env === 'object' && env !== null) {
    for (const [key, why] of Object.entries(given.envDropped)) {
      Object.defineProperty(env, key, {
        enumerable: false,
        get() {
          throw new Error(`ctx.env.${key} is not available in a worker thread: ${why}`)
        },
      })
    }
  }
  return env
}
