/*
 * The entry point of every worker thread that `thread()` starts. It loads the
 * handler (a module's export, or a function rebuilt from its source), then
 * serves the main thread through comlink:
 *
 * - `init(info)`: load the handler; take the env (cloned once, here) and the seed of `ctx.state`;
 * - `run(batch)`: run the batch's items one after another, as a worker does, and
 *   reply with all their results at once;
 * - `abort(ids, reason)`: abort those items' `ctx.signal` (or skip them if they have not started).
 *
 * Before each item it writes the item's id and start time into the shared
 * progress buffer (and minus the id once the item is over), which is how the
 * main thread times items out and knows, after a crash, which items never started.
 */
import { expose, transfer as comlinkTransfer } from 'comlink'
import { parentPort } from 'node:worker_threads'
import { WorkerState } from './context.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind } from '../result/either.js'
import type { Logger } from './logger.js'
import {
  KILLED,
  LEFT,
  LOG_KEY,
  THROWN,
  cloneable,
  collectTransfers,
  epochNow,
  fromWire,
  isDataCloneError,
  nodeEndpoint,
  toWire,
  type Batch,
  type InitInfo,
  type Reply,
  type Transferable,
} from '../internal/thread-protocol.js'

type Fn = (item: unknown, ctx: ThreadContext) => unknown

const port = parentPort
if (port === null) throw new Error('pipevine: thread-worker runs inside a worker thread started by thread()')

const kKill = Symbol.for('pipevine.kill')

let handler: Fn | undefined
let fromSource = false
let info: InitInfo
let env: unknown
const state = new WorkerState()
let progressIds: Int32Array<ArrayBufferLike> = new Int32Array(1)
let progressTimes: Float64Array<ArrayBufferLike> = new Float64Array(1)
/** The item running now (items run one at a time). */
let current: ThreadContext | undefined
/** The last id started: aborts for ids up to it that aren't `current` came too late. */
let lastStarted = 0
/** Aborts that arrived before their item started. */
const abortedEarly = new Map<number, unknown>()

const log: Logger = {
  debug: (message, ...details) => sendLog('debug', message, details),
  info: (message, ...details) => sendLog('info', message, details),
  warn: (message, ...details) => sendLog('warn', message, details),
  error: (message, ...details) => sendLog('error', message, details),
}

function sendLog(level: 'debug' | 'info' | 'warn' | 'error', message: unknown, details: unknown[]): void {
  port!.postMessage({ [LOG_KEY]: level, message: String(message), details: details.map((d) => (cloneable(d) ? d : String(d))) })
}

/** The context an item sees in the thread; its signal is made only if the handler asks for it. */
class ThreadContext {
  private ac: AbortController | undefined
  private abortReason: unknown = undefined
  private aborted = false

  constructor(
    readonly id: number,
    readonly attempt: number,
  ) {}

  get env(): unknown {
    return env
  }
  get state(): WorkerState {
    return state
  }
  get worker(): number {
    return info.index
  }
  get stage(): string {
    return info.stage
  }
  get log(): Logger {
    return log
  }
  get signal(): AbortSignal {
    if (this.ac === undefined) {
      this.ac = new AbortController()
      if (this.aborted) this.ac.abort(this.abortReason)
    }
    return this.ac.signal
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.abortReason = reason
    this.ac?.abort(reason)
  }
}

// ---- loading ---------------------------------------------------------------------

interface InitReply {
  ok: boolean
  permanent?: boolean
  error?: unknown
}

/**
 * The main thread sends its first batch right behind `init`, without waiting
 * for the reply: batches queue behind loading (see `run`), and a thread whose
 * module failed to load runs none of them (it is about to be replaced).
 */
function init(given: InitInfo): Promise<InitReply> {
  const loading = load(given)
  tail = loading
  return loading
}

async function load(given: InitInfo): Promise<InitReply> {
  info = given
  progressIds = new Int32Array(given.progress, 0, 1)
  progressTimes = new Float64Array(given.progress, 8, 1)
  env = given.env
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
  WorkerState.seed(state, given.seed)
  try {
    if (given.source !== undefined) {
      handler = compile(given.source)
      fromSource = true
    } else {
      const loaded = await loadExport(given.module!, given.exportName ?? 'default')
      if (typeof loaded === 'string') return { ok: false, permanent: true, error: toWire(new TypeError(loaded)) }
      handler = loaded
    }
    return { ok: true }
  } catch (error) {
    return { ok: false, error: toWire(error) }
  }
}

async function loadExport(url: string, name: string): Promise<Fn | string> {
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

function compile(source: string): Fn {
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
function explain(error: unknown): unknown {
  if (!fromSource || !(error instanceof ReferenceError)) return error
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

// ---- running -----------------------------------------------------------------------

let tail: Promise<unknown> = Promise.resolve()
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function run(batch: Batch): Promise<Reply> {
  // Batches run one after another, even when an item awaits.
  const result = tail.then(() => runBatch(batch))
  // The next batch starts on a later turn, so this batch's reply has been posted
  // first: a next batch that holds the thread (a long or stuck item) can't delay
  // it, or take it down with the thread if the thread is replaced.
  tail = result.then(nextTurn, nextTurn)
  return result.then((reply) => {
    // What to move rather than copy: what `transfer()` marked, and with the `transfer` option, any whole buffer.
    let transfers: Set<Transferable> | undefined
    for (const value of reply.values) if (typeof value === 'object' && value !== null) collectTransfers(value, info.transfer, (transfers ??= new Set()))
    return transfers !== undefined && transfers.size > 0 ? comlinkTransfer(reply, [...transfers] as never[]) : reply
  })
}

async function runBatch(batch: Batch): Promise<Reply> {
  const started = performance.now()
  const { items, first, attempts } = batch
  const n = items.length
  const values = new Array<unknown>(n)
  let failures: [number, number, unknown][] | undefined
  const fn = handler
  if (fn === undefined) return new Promise<Reply>(() => {})
  for (let i = 0; i < n; i++) {
    const id = first + i
    const ctx = new ThreadContext(id, attempts === undefined ? 1 : attempts[i]!)
    const early = abortedEarly.get(id)
    if (early !== undefined) {
      abortedEarly.delete(id)
      ;(failures ??= []).push([i, THROWN, early])
      continue
    }
    progressTimes[0] = epochNow()
    Atomics.store(progressIds, 0, id)
    lastStarted = id
    current = ctx
    let result: unknown
    try {
      result = fn(items[i], ctx)
      if (typeof result === 'object' && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') result = await result
    } catch (error) {
      ;(failures ??= []).push([i, THROWN, toWire(explain(error))])
      continue
    } finally {
      current = undefined
      // Negative: this item is over (the main thread no longer times it).
      Atomics.store(progressIds, 0, -id)
    }
    if (typeof result === 'object' && result !== null) {
      if ((result as Record<symbol, unknown>)[kKill] === true) {
        const reason = (result as { reason?: unknown }).reason
        ;(failures ??= []).push([i, KILLED, cloneable(reason) ? reason : String(reason)])
        continue
      }
      const kind = eitherKind(result)
      if (kind === KIND_RIGHT) result = (result as { right: unknown }).right
      else if (kind === KIND_LEFT) {
        ;(failures ??= []).push([i, LEFT, toWire((result as { left: unknown }).left)])
        continue
      }
    }
    values[i] = result
  }
  return failures === undefined ? { values, busyMs: performance.now() - started } : { values, failures, busyMs: performance.now() - started }
}

function abort(ids: number[], reason: unknown): void {
  const error = fromWire(reason)
  for (const id of ids) {
    if (current !== undefined && current.id === id) current.abort(error)
    else if (id > lastStarted) abortedEarly.set(id, reason)
  }
}

/**
 * A reply that can't be cloned fails only the items whose values can't be: they
 * become errors that say so, and the rest of the batch goes back as usual.
 */
function replaceUnclonable(message: unknown, error: unknown): unknown {
  if (!isDataCloneError(error)) return undefined
  const msg = message as { type?: string; value?: Reply }
  const reply = msg.value
  if (msg.type !== 'RAW' || reply === undefined || !Array.isArray(reply.values) || typeof reply.busyMs !== 'number') return undefined
  const failures = new Map<number, [number, number, unknown]>()
  for (const f of reply.failures ?? []) failures.set(f[0], cloneable(f[2]) ? f : [f[0], f[1], String(f[2])])
  const values = reply.values.slice()
  for (let i = 0; i < values.length; i++) {
    if (failures.has(i) || cloneable(values[i])) continue
    const problem = new Error(
      `the result could not be sent back from the worker thread: ${describe(values[i])} can't be structured-cloned ` +
        '(results cross the thread boundary by structured clone: return plain data, arrays, Maps, typed arrays; no functions or symbols)',
    )
    problem.name = 'DataCloneError'
    failures.set(i, [i, THROWN, toWire(problem)])
    values[i] = undefined
  }
  const sorted = [...failures.values()].sort((a, b) => a[0] - b[0])
  return { ...msg, value: { values, failures: sorted, busyMs: reply.busyMs } }
}

function describe(value: unknown): string {
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`
  if (typeof value === 'symbol') return 'a symbol'
  if (typeof value === 'object' && value !== null) return `a value of type ${value.constructor?.name ?? 'Object'}`
  return `a ${typeof value}`
}

expose({ init, run, abort }, nodeEndpoint(port, replaceUnclonable))
