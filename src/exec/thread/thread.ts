import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, extname, isAbsolute } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { HandlerValue } from '../types.js'
import { kRunner } from '../engine/spawn.js'
import { ThreadHost } from './thread-host.js'
import type { HostGroup, ThreadEntry, ThreadTarget } from './thread-job.js'
import { ThreadRunner, type HostLease } from './thread-runner.js'
import { checkBoolean, checkInteger, checkKeys, checkNumber, checkOptionsObject, fail } from '../validate.js'
import type { Runner, WorkerConfig, WorkerOwner } from '../engine/runner.js'
import type { StageContext } from '../context.js'

/**
 * Options of `thread`.
 *
 * @example
 * ```ts
 * thread(new URL('./resize.js', import.meta.url), 'resize', { transfer: true, maxBatch: 16 })
 * ```
 */
export interface ThreadOptions {
  /** The module's export to run (module form; default `'default'`). */
  exportName?: string
  /**
   * Most items sent to a thread in one message (default 256). Batches grow to
   * about `batchMs` of work each, so slow items still go one at a time; `1`
   * sends every item on its own.
   */
  maxBatch?: number
  /** About how much work, in ms, one batch should carry (default 5). */
  batchMs?: number
  /**
   * Move `ArrayBuffer`s instead of copying them: whole buffers (and typed
   * arrays or Buffers that span their whole buffer) found in an item or a
   * result, at the top level or one level down. The sender can't use them
   * afterwards (default false). `transfer(value, list)` marks single values.
   */
  transfer?: boolean
}

const THREAD_KEYS = ['exportName', 'maxBatch', 'batchMs', 'transfer'] as const
const DEFAULTS = { exportName: 'default', maxBatch: 256, batchMs: 5, transfer: false }

type AnyHandler = (item: any, ctx: StageContext<any>) => unknown
/** The environment a thread handler declares in its context type (`any` without `F`; an env it may do without, `env?: …`, is no need). */
type EnvOfHandler<F> = F extends (item: any, ctx: StageContext<infer R, any>) => unknown ? (undefined extends R ? unknown : R) : unknown

/**
 * A handler that runs in worker threads. Use it like any handler in `pool`,
 * `mix` or `fork`; calling it directly is an error.
 *
 * @example
 * ```ts
 * const hash: ThreadHandler<string, string> = thread(new URL('./hash.js', import.meta.url))
 * ```
 */
export type ThreadHandler<A, B, R = any> = ((item: A, ctx: StageContext<R>) => Promise<B>) & {
  /** @internal */
  readonly [kRunner]: (config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number) => Runner
}

/**
 * A handler that runs in `worker_threads`, proxied through comlink: for CPU work
 * that would block the event loop. `pool(thread(url), 4)` runs 4 threads, each
 * loading the module once, one item at a time each, like 4 workers.
 *
 * - In the thread the export gets `(item, ctx)` and may return a value, a promise,
 *   an `Either` or `kill(reason)`. `ctx.state` lives in the thread; `ctx.env` is
 *   structured-cloned into each thread once, when it starts; `ctx.signal` aborts
 *   when the item times out or the run is cancelled; `ctx.attempt`, `ctx.worker`,
 *   `ctx.stage` and `ctx.log` work as usual.
 * - Items and results cross by structured clone (`transfer` moves buffers
 *   instead). An error thrown in the thread arrives as the `StageError`'s cause
 *   with its name, message, stack and the own data that can be cloned (so does
 *   any thrown value); a result that can't be cloned fails only its own item.
 * - Items travel in batches when several are waiting, so per-message cost is paid
 *   per batch; a lone item is sent at once. Order, timeouts and the stage's
 *   holding bound still hold per item (a thread holds up to two batches).
 * - A thread that crashes (or calls `process.exit`) fails the item it was
 *   running with a `ThreadError` (`crashed`) and is replaced: the other items it
 *   held are delivered if they had finished, else run on the new thread. Only a
 *   module that fails to load is tried 3 times with backoff, then every item
 *   fails with that error (`load`). All threads end when the run ends, however it ends.
 *
 * @typeParam F - The export's type, `typeof import('…').default`: it types the
 *   stage's items and results (`any` without it).
 * @example
 * ```ts
 * // hash.ts: export default (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')
 * pipe(files, pool(thread<typeof import('./hash.js').default>(new URL('./hash.js', import.meta.url)), 4))
 * ```
 */
export function thread<F extends AnyHandler = (item: any, ctx: StageContext<any>) => any>(
  moduleUrl: string | URL,
  exportName?: string,
  options?: ThreadOptions,
): ThreadHandler<Parameters<F>[0], HandlerValue<ReturnType<F>>, EnvOfHandler<F>>
export function thread<F extends AnyHandler = (item: any, ctx: StageContext<any>) => any>(
  moduleUrl: string | URL,
  options: ThreadOptions,
): ThreadHandler<Parameters<F>[0], HandlerValue<ReturnType<F>>, EnvOfHandler<F>>
/**
 * The same for a self-contained function: its source text is sent to the
 * threads and rebuilt there, so it can't use variables from around it (one that
 * does fails with an error naming the variable; move such a function into a
 * module). It may still `await import(…)` what it needs.
 *
 * @typeParam F - The function's type (inferred).
 * @example
 * ```ts
 * pipe(numbers, pool(thread((n: number) => { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i); return x }), 2))
 * ```
 */
export function thread<F extends AnyHandler>(fn: F, options?: ThreadOptions): ThreadHandler<Parameters<F>[0], HandlerValue<ReturnType<F>>, EnvOfHandler<F>>
export function thread(target: string | URL | AnyHandler, second?: string | ThreadOptions, third?: ThreadOptions): ThreadHandler<unknown, unknown> {
  let options: ThreadOptions
  let load: ThreadTarget
  let name: string
  if (typeof target === 'function') {
    options = (second as ThreadOptions | undefined) ?? {}
    checkOptions(options)
    if (options.exportName !== undefined) fail('thread', 'exportName', 'left out with a function (it names a module export)', options.exportName)
    load = { source: functionSource(target) }
    name = target.name || 'thread'
  } else {
    if (typeof second === 'string' || second === undefined) options = third ?? {}
    else options = second
    checkOptions(options)
    const exportName = typeof second === 'string' ? second : (options.exportName ?? DEFAULTS.exportName)
    if (typeof exportName !== 'string' || exportName.length === 0) fail('thread', 'exportName', 'a non-empty string', exportName)
    const module = moduleHref(target)
    load = { module, exportName }
    name = exportName !== 'default' ? exportName : moduleName(module)
  }
  return threadHandler(load, name, { ...DEFAULTS, ...options })
}

function checkOptions(options: unknown): asserts options is ThreadOptions {
  checkOptionsObject('thread', 'options', options)
  checkKeys('thread', options as object, THREAD_KEYS)
  const { maxBatch, batchMs, transfer } = options as ThreadOptions
  if (maxBatch !== undefined) checkInteger('thread', 'maxBatch', maxBatch, 1)
  if (batchMs !== undefined) checkNumber('thread', 'batchMs', batchMs, 0)
  if (transfer !== undefined) checkBoolean('thread', 'transfer', transfer)
}

function functionSource(fn: AnyHandler): string {
  const source = Function.prototype.toString.call(fn)
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    fail('thread', 'fn', 'a function written in JavaScript (its source is sent to the threads), not a native or bound function', fn)
  }
  if (/^class\b/.test(source)) fail('thread', 'fn', 'a function, not a class', fn)
  return source
}

/** `true` in dist/cjs (build.mjs defines it); `undefined` in the ESM build and the sources. */
const CJS_BUILD = (import.meta as { PIPEVINE_CJS?: boolean }).PIPEVINE_CJS === true

function moduleHref(moduleUrl: unknown): string {
  if (moduleUrl instanceof URL) return moduleUrl.href
  if (typeof moduleUrl !== 'string' || moduleUrl.length === 0) fail('thread', 'moduleUrl', 'a module URL, an absolute path, or a function', moduleUrl)
  if (isAbsolute(moduleUrl)) return pathToFileURL(moduleUrl).href
  if (/^[a-zA-Z][a-zA-Z\d+.-]+:/.test(moduleUrl)) return moduleUrl
  if (moduleUrl.startsWith('.')) {
    const path = JSON.stringify(moduleUrl)
    // The CommonJS build is what `require` loads, so its caller has __dirname and no import.meta.
    const resolved = CJS_BUILD ? `path.join(__dirname, ${path}) or require.resolve(${path})` : `new URL(${path}, import.meta.url)`
    throw new TypeError(
      `thread: \`moduleUrl\` must be a URL or an absolute path, got the relative path ${path}: resolve it against your module, e.g. ${resolved}`,
    )
  }
  return moduleUrl // a package name, resolved from inside the thread
}

function moduleName(href: string): string {
  try {
    const file = href.startsWith('file:') ? basename(fileURLToPath(href)) : basename(new URL(href).pathname)
    return basename(file, extname(file)) || 'thread'
  } catch {
    return 'thread'
  }
}

// ---- the thread entry ---------------------------------------------------------------

let entry: ThreadEntry | undefined

/**
 * The worker's entry file, next to this module: `thread-worker.ts` when running
 * from the sources (under tsx), `exec/thread/thread-worker.js` next to a built bundle.
 */
function threadEntry(): ThreadEntry {
  if (entry !== undefined) return entry
  const here = import.meta.url
  for (const candidate of ['./thread-worker.ts', './exec/thread/thread-worker.js', './thread-worker.js']) {
    const url = new URL(candidate, here)
    if (!existsSync(url)) continue
    // Node 20 does not pass tsx's loader on to worker threads: register it there first.
    entry = candidate.endsWith('.ts') ? { url, tsx: tsxLoader(here) } : { url }
    return entry
  }
  throw new Error(`pipevine: the worker-thread entry (exec/thread/thread-worker.js) is missing next to ${here}`)
}

function tsxLoader(here: string): string | undefined {
  try {
    const api = createRequire(here).resolve('tsx/esm/api')
    const esm = api.replace(/\.cjs$/, '.mjs')
    return pathToFileURL(existsSync(esm) ? esm : api).href
  } catch {
    return undefined
  }
}

// ---- the handler -------------------------------------------------------------------------

interface Settings {
  readonly maxBatch: number
  readonly batchMs: number
  readonly transfer: boolean
}

function threadHandler(target: ThreadTarget, name: string, settings: Settings): ThreadHandler<unknown, unknown> {
  /** One per stage: once a thread gives up loading the module, the stage's other threads don't try. */
  const groups = new WeakMap<object, HostGroup>()
  const groupOf = (key: object): HostGroup => {
    let group = groups.get(key)
    if (group === undefined) groups.set(key, (group = { failure: undefined }))
    return group
  }

  const handler = function threadHandler(): never {
    throw new TypeError(`thread handler "${name}" runs inside pool, mix or fork; it can't be called directly`)
  }
  Object.defineProperty(handler, 'name', { value: name })

  const makeRunner = (config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner => {
    const group = groupOf(config.stats)
    const newHost = (seed: unknown): ThreadHost =>
      new ThreadHost({
        entry: threadEntry(),
        target,
        index,
        stage: config.stats.name,
        env: config.scope.env,
        seed,
        timeout: config.timeout,
        maxBatch: settings.maxBatch,
        batchMs: settings.batchMs,
        transfer: settings.transfer,
        log: config.scope.run.log,
        group,
        stats: config.stats,
        timing: config.scope.run.timing,
      })
    const open = (seed: unknown): HostLease => {
      const host = newHost(seed)
      return { host, release: () => host.close() }
    }
    return new ThreadRunner(config, open, owner, index, handlerIndex, 2 * settings.maxBatch)
  }

  Object.defineProperty(handler, kRunner, { value: makeRunner })
  return handler as unknown as ThreadHandler<unknown, unknown>
}

export { transfer } from './thread-protocol.js'
export { ThreadError } from './thread-job.js'
