import { basename, extname, isAbsolute } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { HandlerValue } from '../types.js'
import { kRunner } from '../engine/spawn.js'
import { ThreadHost } from './thread-host.js'
import type { HostGroup, ThreadError, ThreadTarget } from './thread-job.js'
import type { Logger } from '../logger.js'
import { preflight, threadEntry } from './thread-entry.js'
import { DETACHED_CONFIG, ThreadRunner, anchorShapes, type HostLease, type LeaseOpener } from './thread-runner.js'
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

export const THREAD_KEYS = ['exportName', 'maxBatch', 'batchMs', 'transfer'] as const
export const DEFAULTS = { exportName: 'default', maxBatch: 256, batchMs: 5, transfer: false }

export type AnyHandler = (item: any, ctx: StageContext<any>) => unknown
/** The environment a thread handler declares in its context type (`any` without `F`; an env it may do without, `env?: …`, is no need). */
export type EnvOfHandler<F> = F extends (item: any, ctx: StageContext<infer R, any>) => unknown ? (undefined extends R ? unknown : R) : unknown

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
  const { load, name, options } = threadTarget('thread', target, second, third, THREAD_KEYS)
  return threadHandler(load, name, { ...DEFAULTS, ...options })
}

/** What `thread(…)` / `threadPool(…)` were given: what to load, the stage's default name, and the options (checked). */
export function threadTarget<O extends ThreadOptions>(
  api: string,
  target: string | URL | AnyHandler,
  second: string | O | undefined,
  third: O | undefined,
  keys: readonly string[],
): { load: ThreadTarget; name: string; options: O } {
  if (typeof target === 'function') {
    const options = (second as O | undefined) ?? ({} as O)
    checkOptions(api, options, keys)
    if (options.exportName !== undefined) fail(api, 'exportName', 'left out with a function (it names a module export)', options.exportName)
    return { load: { source: functionSource(api, target) }, name: target.name || 'thread', options }
  }
  const options = typeof second === 'string' || second === undefined ? (third ?? ({} as O)) : second
  checkOptions(api, options, keys)
  const exportName = typeof second === 'string' ? second : (options.exportName ?? DEFAULTS.exportName)
  if (typeof exportName !== 'string' || exportName.length === 0) fail(api, 'exportName', 'a non-empty string', exportName)
  const module = moduleHref(api, target)
  return { load: { module, exportName }, name: exportName !== 'default' ? exportName : moduleName(module), options }
}

function checkOptions(api: string, options: unknown, keys: readonly string[]): asserts options is ThreadOptions {
  checkOptionsObject(api, 'options', options)
  checkKeys(api, options as object, keys)
  const { maxBatch, batchMs, transfer } = options as ThreadOptions
  if (maxBatch !== undefined) checkInteger(api, 'maxBatch', maxBatch, 1)
  if (batchMs !== undefined) checkNumber(api, 'batchMs', batchMs, 0)
  if (transfer !== undefined) checkBoolean(api, 'transfer', transfer)
}

function functionSource(api: string, fn: AnyHandler): string {
  const source = Function.prototype.toString.call(fn)
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    fail(api, 'fn', 'a function written in JavaScript (its source is sent to the threads), not a native or bound function', fn)
  }
  if (/^class\b/.test(source)) fail(api, 'fn', 'a function, not a class', fn)
  return source
}

/** `true` in dist/cjs (build.mjs defines it); `undefined` in the ESM build and the sources. */
const CJS_BUILD = (import.meta as { PIPEVINE_CJS?: boolean }).PIPEVINE_CJS === true

function moduleHref(api: string, moduleUrl: unknown): string {
  if (moduleUrl instanceof URL) return moduleUrl.href
  if (typeof moduleUrl !== 'string' || moduleUrl.length === 0) fail(api, 'moduleUrl', 'a module URL, an absolute path, or a function', moduleUrl)
  if (isAbsolute(moduleUrl)) return pathToFileURL(moduleUrl).href
  if (/^[a-zA-Z][a-zA-Z\d+.-]+:/.test(moduleUrl)) return moduleUrl
  if (moduleUrl.startsWith('.')) {
    const path = JSON.stringify(moduleUrl)
    // The CommonJS build is what `require` loads, so its caller has __dirname and no import.meta.
    const resolved = CJS_BUILD ? `path.join(__dirname, ${path}) or require.resolve(${path})` : `new URL(${path}, import.meta.url)`
    throw new TypeError(
      `${api}: \`moduleUrl\` must be a URL or an absolute path, got the relative path ${path}: resolve it against your module, e.g. ${resolved}`,
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

// ---- the handler -------------------------------------------------------------------------

interface Settings {
  readonly maxBatch: number
  readonly batchMs: number
  readonly transfer: boolean
}

function threadHandler(target: ThreadTarget, name: string, settings: Settings): ThreadHandler<unknown, unknown> {
  /** One per stage: once a thread gives up loading the module, the stage's other threads don't try. */
  const groups = new WeakMap<object, HostGroup>()
  const groupOf = (key: object, stage: string, log: Logger): HostGroup => {
    let group = groups.get(key)
    if (group === undefined) groups.set(key, (group = { failure: knownFailure(target, stage, log) }))
    return group
  }

  const handler = function threadHandler(): never {
    throw new TypeError(`thread handler "${name}" runs inside pool, mix or fork; it can't be called directly`)
  }
  Object.defineProperty(handler, 'name', { value: name })

  const makeRunner = (config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner => {
    const group = groupOf(config.stats, config.stats.name, config.scope.run.log)
    return new ThreadRunner(config, new OwnThreadOpener(target, settings, config, index, group), owner, index, handlerIndex, 2 * settings.maxBatch)
  }
  if (!anchored) {
    anchored = true
    // A host that is never given an item (it starts no thread), with options of the same shape as a run's, and an opener of such hosts.
    const log = { debug: noop, info: noop, warn: noop, error: noop }
    const { maxBatch, batchMs, transfer } = settings
    const options = { entry: { url: new URL('file:///') }, target: { source: '' }, index: 0, stage: 'pipevine shapes', env: undefined, seed: undefined, timeout: 0, maxBatch, batchMs, transfer, log, group: { failure: undefined }, stats: undefined, timing: false }
    anchorShapes(new OwnThread(new ThreadHost(options)), new OwnThreadOpener(options.target, { maxBatch, batchMs, transfer }, DETACHED_CONFIG, 0, options.group))
  }

  Object.defineProperty(handler, kRunner, { value: makeRunner })
  return handler as unknown as ThreadHandler<unknown, unknown>
}

const noop = (): void => {}
/** The per-run shapes of `thread(…)` stages are kept (see anchorShapes). */
let anchored = false

/** Starts a runner's own thread, with its `init` value (see ThreadRunner.host). */
class OwnThreadOpener implements LeaseOpener {
  constructor(
    private readonly target: ThreadTarget,
    private readonly settings: Settings,
    private readonly config: WorkerConfig,
    private readonly index: number,
    private readonly group: HostGroup,
  ) {}

  open(seed: unknown): HostLease {
    const { target, settings, config } = this
    const { stats, scope } = config
    const { maxBatch, batchMs, transfer } = settings
    const options = { entry: threadEntry(target), target, index: this.index, stage: stats.name, env: scope.env, seed, timeout: config.timeout, maxBatch, batchMs, transfer, log: scope.run.log, group: this.group, stats, timing: scope.run.timing }
    return new OwnThread(new ThreadHost(options))
  }
}

/** A runner's own thread, ended with its run. */
class OwnThread implements HostLease {
  constructor(readonly host: ThreadHost) {}

  release(): Promise<void> {
    return this.host.close()
  }
}

/** A module that can't load, known before a thread starts (see `preflight`): logged once, and every item fails with it at once. */
export function knownFailure(target: ThreadTarget, stage: string, log: Logger): ThreadError | undefined {
  const failure = preflight(target, stage)
  if (failure !== undefined) log.error(`[${stage}] ${failure.message}`)
  return failure
}

export { transfer } from './thread-protocol.js'
export { ThreadError } from './thread-job.js'
