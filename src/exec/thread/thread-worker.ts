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
 * main thread times items out and knows, after a crash, which item was running
 * and which never started. A thread that exits mid-batch (`process.exit`, an
 * uncaught error) first sends the results of the batch's finished items.
 */
import { expose } from 'comlink'
import { parentPort } from 'node:worker_threads'
import { WorkerState } from '../context.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind } from '../../result/either-kind.js'
import type { Logger } from '../logger.js'
import {
  KILLED,
  SKIPPED,
  LEFT,
  LOG_KEY,
  SALVAGE_KEY,
  THROWN,
  cloneable,
  collectTransfers,
  epochNow,
  fromWire,
  cloneableResults,
  toWire,
  type Batch,
  type InitInfo,
  type InitReply,
  type Reply,
  type SalvageMessage,
  type Transferable,
} from './thread-protocol.js'
import { cloneableCopy, describe, textOf } from './thread-clone.js'
import { compile, envOf, explain, explainLoad, isMissingModule, loadExport, type Fn } from './thread-load.js'
import { OutgoingReply, nodeEndpoint } from './thread-endpoint.js'

const port = parentPort
if (port === null) throw new Error('pipevine: thread-worker runs inside a worker thread started by thread()')

const kKill = Symbol.for('pipevine.kill')
const kSkip = Symbol.for('pipevine.skip')

let handler: Fn | undefined
let fromSource = false
let info: InitInfo
let env: unknown
const state = new WorkerState()
let progressIds: Int32Array<ArrayBufferLike> = new Int32Array(1)
let progressTimes: Float64Array<ArrayBufferLike> = new Float64Array(1)
let loadedFlag: Int32Array<ArrayBufferLike> = new Int32Array(1)
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
  // Any value may be logged: one that can't become a string (or be cloned) is described instead.
  const text = typeof message === 'string' ? message : textOf(message, describe(message))
  port!.postMessage({ [LOG_KEY]: level, message: text, details: details.map((d) => (cloneable(d) ? d : textOf(d, describe(d)))) })
}

/** The context an item sees in the thread; its signal is made only if the handler asks for it. */
class ThreadContext {
  private ac: AbortController | undefined
  private abortReason: unknown = undefined
  private aborted = false

  constructor(
    readonly id: number,
    readonly attempt: number,
    readonly index: number,
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
  loadedFlag = new Int32Array(given.progress, 4, 1)
  env = envOf(given)
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
    Atomics.store(loadedFlag, 0, 1)
    return { ok: true }
  } catch (error) {
    // Retrying can't find a module that isn't there, or load one Node has no loader for.
    const permanent = isMissingModule(error)
    return { ok: false, permanent, error: toWire(permanent ? explainLoad(error, given.module!) : error) }
  }
}

// ---- running -----------------------------------------------------------------------

let tail: Promise<unknown> = Promise.resolve()
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

function run(batch: Batch): Promise<OutgoingReply> {
  // Batches run one after another, even when an item awaits.
  const result = tail.then(() => runBatch(batch))
  // The next batch starts on a later turn, so this batch's reply has been posted
  // first: a next batch that holds the thread (a long or stuck item) can't delay
  // it, or take it down with the thread if the thread is replaced.
  tail = result.then(nextTurn, nextTurn)
  return result.then((reply) => {
    // The reply is posted right after this (comlink, same tick): nothing is left to salvage.
    if (running?.values === reply.values) running = undefined
    // What to move rather than copy: what `transfer()` marked, and with the `transfer` option, any whole buffer.
    let transfers: Set<Transferable> | undefined
    for (const value of reply.values) if (typeof value === 'object' && value !== null) collectTransfers(value, info.transfer, (transfers ??= new Set()))
    return new OutgoingReply(reply, transfers === undefined ? [] : [...transfers])
  })
}

/** The batch running now: what `salvage` sends if the thread exits before its reply. */
interface Running {
  readonly first: number
  readonly values: unknown[]
  failures: [number, number, unknown][] | undefined
  /** Its first `done` items are over. */
  done: number
}
let running: Running | undefined

async function runBatch(batch: Batch): Promise<Reply> {
  const started = performance.now()
  const { items, first, attempts, indexes, indexFrom = 0 } = batch
  if (batch.env !== undefined) env = envOf({ env: batch.env.value, envDropped: batch.env.dropped })
  const n = items.length
  const fn = handler
  if (fn === undefined) return new Promise<Reply>(() => {})
  const state: Running = { first, values: new Array<unknown>(n), failures: undefined, done: 0 }
  running = state
  const values = state.values
  for (let i = 0; i < n; i++) {
    state.done = i
    const id = first + i
    const ctx = new ThreadContext(id, attempts === undefined ? 1 : attempts[i]!, indexes === undefined ? indexFrom + i : indexes[i]!)
    const early = abortedEarly.get(id)
    if (early !== undefined) {
      abortedEarly.delete(id)
      ;(state.failures ??= []).push([i, THROWN, early])
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
      ;(state.failures ??= []).push([i, THROWN, toWire(fromSource ? explain(error) : error)])
      continue
    } finally {
      current = undefined
      // Negative: this item is over (the main thread no longer times it).
      Atomics.store(progressIds, 0, -id)
    }
    if (typeof result === 'object' && result !== null) settle(state, i, result)
    else if (result === kSkip) (state.failures ??= []).push([i, SKIPPED, 0])
    else values[i] = result
  }
  state.done = n
  const failures = state.failures
  return failures === undefined ? { values, busyMs: performance.now() - started } : { values, failures, busyMs: performance.now() - started }
}

/** Records an object result: a kill, a Left (failures), a Right's value, or the object itself. */
function settle(state: Running, i: number, result: object): void {
  try {
    if ((result as Record<symbol, unknown>)[kKill] === true) {
      const reason = (result as { reason?: unknown }).reason
      ;(state.failures ??= []).push([i, KILLED, cloneable(reason) ? reason : (cloneableCopy(reason, 0) ?? describe(reason))])
      return
    }
    const kind = eitherKind(result)
    if (kind === KIND_RIGHT) state.values[i] = (result as { right: unknown }).right
    else if (kind === KIND_LEFT) (state.failures ??= []).push([i, LEFT, toWire((result as { left: unknown }).left)])
    else state.values[i] = result
  } catch (error) {
    // A result whose marks can't be read (a throwing getter, a revoked Proxy) fails its item.
    ;(state.failures ??= []).push([i, THROWN, toWire(error)])
  }
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
 * become errors that say so (in place: the endpoint posts the same message
 * again), and the rest of the batch goes back as usual.
 */
function repair(reply: Reply): boolean {
  const fixed = cloneableResults(reply.values, reply.failures)
  const mutable = reply as { values: unknown[]; failures?: [number, number, unknown][] }
  mutable.values = fixed.values
  mutable.failures = fixed.failures
  return true
}

/**
 * The thread is exiting (`process.exit`, an uncaught error) during a batch: send
 * what its finished items gave, so that only the item that was running is lost.
 */
function salvage(): void {
  const state = running
  running = undefined
  if (state === undefined || state.done === 0) return
  const values = state.values.slice(0, state.done)
  const failures = state.failures
  try {
    port!.postMessage({ [SALVAGE_KEY]: state.first, values, failures } satisfies SalvageMessage)
  } catch {
    try {
      port!.postMessage({ [SALVAGE_KEY]: state.first, ...cloneableResults(values, failures) } satisfies SalvageMessage)
    } catch {
      // Nothing more can be sent: those items fail with the thread.
    }
  }
}

process.on('exit', salvage)
expose({ init, run, abort }, nodeEndpoint(port, { repair }))
