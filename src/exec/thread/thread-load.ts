/*
 * What a thread sets up once, in the thread: its handler (a module's export,
 * or a function rebuilt from its source text) and its env.
 */
import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { InitInfo } from './thread-protocol.js'

const filePath = (href: string): string => {
  try {
    return fileURLToPath(href)
  } catch {
    return href
  }
}
const exists = (href: string): boolean => existsSync(filePath(href))

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
export function envOf(given: Pick<InitInfo, 'env' | 'envDropped'>): unknown {
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

const MISSING = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_UNKNOWN_FILE_EXTENSION', 'ERR_UNSUPPORTED_DIR_IMPORT'])

/** The module (or one it imports) can't be found, or Node has no loader for its extension: trying again won't help. */
export function isMissingModule(error: unknown): boolean {
  return typeof error === 'object' && error !== null && MISSING.has((error as { code?: unknown }).code as string)
}

/** The same error, with what to do about it in the message. */
export function explainLoad(error: unknown, module: string): unknown {
  try {
    const { code, message } = error as { code: string; message: string }
    const advice = code === 'ERR_UNKNOWN_FILE_EXTENSION' ? unknownExtension(module) : notFound(module, message)
    return Object.assign(new Error(`${message}. ${advice}`, { cause: error }), { code })
  } catch {
    return error
  }
}

export const TS_LOADER_ADVICE =
  'Run the program under tsx (`tsx app.ts`, or `node --import tsx app.ts`): its worker threads then load .ts modules the same way. Or point thread() at the compiled .js file'

function unknownExtension(module: string): string {
  return /\.[cm]?tsx?$/.test(module) ? `${module} is TypeScript, and this process has no TypeScript loader. ${TS_LOADER_ADVICE}` : `Node can't load this kind of file in a worker thread: point thread() at a .js, .mjs or .cjs module`
}

function notFound(module: string, message: string): string {
  // "Cannot find package 'x' imported from <module>": what is missing is something the module imports.
  if (!message.split(/ imported from /)[0]!.includes(module.startsWith('file:') ? filePath(module) : module)) return 'A module it imports is missing: install it, or fix the import'
  const ts = module.replace(/\.([cm]?)js$/, '.$1ts')
  if (ts !== module && module.startsWith('file:') && exists(ts)) {
    return `There is ${filePath(ts)} next to it: point thread() at that file (new URL('./${basename(ts)}', import.meta.url)) and run under tsx, or build the .js first`
  }
  return 'Pass the URL of a file that exists, resolved against your module: new URL(\'./worker.js\', import.meta.url)'
}
