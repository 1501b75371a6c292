/*
 * What the main thread and a worker thread say to each other, shared by both
 * sides (src/exec/thread/thread-host.ts and src/exec/thread/thread-worker.ts).
 *
 * The calls themselves go through comlink (`init`, `run`, `abort`; see
 * thread-endpoint.ts for how it is plugged in). A `run`
 * call carries a batch of items and its reply carries their results, so the
 * cost of a message is paid per batch, not per item. Results are encoded so
 * that the common case (every item succeeded) is a plain array of values.
 */
import { cloneProblem, cloneableCopy, describe, hasCause, isError, read, textOf } from './thread-clone.js'

/** What a thread loads, and what it is told once at spawn (the env is cloned here, never per item). */
export interface InitInfo {
  /** A module URL to import, or the source text of a self-contained function. */
  readonly module?: string
  readonly exportName?: string
  readonly source?: string
  readonly env: unknown
  /** Keys of the env that could not be cloned, with why: reading them in the thread throws that. */
  readonly envDropped?: Record<string, string>
  /** `init`'s result (cloned), to seed `ctx.state`. */
  readonly seed?: unknown
  readonly index: number
  readonly stage: string
  /**
   * [0..4): the id of the item the thread is running, or minus the id of the last one when none is (Int32);
   * [4..8): 1 once the module has loaded (Int32: an exit after that is a crash, not a failed load);
   * [8..16): when the item started (Float64, epoch ms).
   */
  readonly progress: SharedArrayBuffer
  /** Move ArrayBuffers found in results instead of copying them. */
  readonly transfer: boolean
}

/** Items with consecutive ids `first`, `first + 1`, … */
export interface Batch {
  readonly first: number
  readonly items: unknown[]
  /** Attempt numbers, present only when some item is not on its first attempt. */
  readonly attempts?: number[]
  /** A pool's thread: the env of this batch's run, sent when it differs from the last one the thread got. */
  readonly env?: { readonly value: unknown; readonly dropped?: Record<string, string> }
  /** Each item's position in its stage's input (`ctx.index`); absent: `indexFrom`, `indexFrom + 1`, … */
  readonly indexes?: number[]
  /** The first item's position when the items' positions are consecutive. */
  readonly indexFrom?: number
}

export interface Reply {
  /** The value of each item that succeeded (a hole where it failed). */
  readonly values: unknown[]
  /** Items that did not succeed: `[index in batch, kind, payload]`. */
  readonly failures?: [number, number, unknown][]
  /** Time spent on the batch in the thread, ms. */
  readonly busyMs: number
}

export interface InitReply {
  readonly ok: boolean
  /** The module can never load (no such export, not a function): don't try again. */
  readonly permanent?: boolean
  readonly error?: unknown
}

/** What a thread serves through comlink, as the main thread calls it. */
export interface ThreadApi {
  init(info: InitInfo): Promise<InitReply>
  run(batch: Batch): Promise<Reply>
  abort(ids: number[], reason: unknown): void
}

/** Failure kinds. */
export const THROWN = 1
export const LEFT = 2
export const KILLED = 3
/** The handler returned `skip` (a symbol, which can't be cloned). */
export const SKIPPED = 4

/** Messages outside comlink (the endpoint adapter keeps them from it, see thread-endpoint.ts): log lines from `ctx.log`. */
export const LOG_KEY = '__pipevineLog'
export interface LogMessage {
  readonly [LOG_KEY]: 'debug' | 'info' | 'warn' | 'error'
  readonly message: string
  readonly details: unknown[]
}

/**
 * Sent by a thread that is exiting (`process.exit`, an uncaught error) in the
 * middle of a batch: the results of the batch's items that had finished, so that
 * only the item that was running is lost with the thread. The key holds the
 * batch's first id; `values` and `failures` are as in a Reply, for its first items.
 */
export const SALVAGE_KEY = '__pipevineSalvage'
export interface SalvageMessage {
  readonly [SALVAGE_KEY]: number
  readonly values: unknown[]
  readonly failures?: [number, number, unknown][]
}

export const PROGRESS_BYTES = 16

/** Wall-clock ms with sub-ms precision, comparable across threads. */
export const epochNow = (): number => performance.timeOrigin + performance.now()

// ---- errors across the boundary ---------------------------------------------

/** An Error in transit: structured clone alone would drop custom names and properties. */
export interface WireError {
  readonly __pipevineError: 1
  readonly name: string
  readonly message: string
  readonly stack: string | undefined
  readonly props?: Record<string, unknown>
  readonly cause?: unknown
}

/**
 * A thrown value made fit to cross the thread boundary, whatever it is: an Error
 * becomes a WireError (name, message, stack, the own properties that can be
 * cloned, its cause); another value that can't be cloned keeps what can be (see
 * `cloneableCopy`). Never throws, and what it returns can always be cloned.
 */
export function toWire(error: unknown, depth = 0): unknown {
  try {
    if (!isError(error)) {
      const copy = cloneableCopy(error, 0)
      return copy !== undefined || error === undefined ? copy : describe(error)
    }
    let props: Record<string, unknown> | undefined
    for (const key of Object.keys(error)) {
      if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue
      const value = cloneableCopy(read(error, key), 1)
      if (value !== undefined) (props ??= {})[key] = value
    }
    const name = read(error, 'name')
    const message = read(error, 'message')
    const stack = read(error, 'stack')
    const wire: WireError = {
      __pipevineError: 1,
      name: typeof name === 'string' ? name : 'Error',
      message: typeof message === 'string' ? message : textOf(message, ''),
      stack: typeof stack === 'string' ? stack : undefined,
      ...(props ? { props } : {}),
      ...(depth < 4 && hasCause(error) ? { cause: toWire(read(error, 'cause'), depth + 1) } : {}),
    }
    return wire
  } catch (problem) {
    const wire: WireError = { __pipevineError: 1, name: 'Error', message: `a thrown value that could not be read: ${textOf(problem, 'unknown')}`, stack: undefined }
    return wire
  }
}

const STANDARD: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
}

/** Rebuilds an Error from the wire: the same name, message, stack and own properties. */
export function fromWire(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || (value as Partial<WireError>).__pipevineError !== 1) return value
  const wire = value as WireError
  const Ctor = STANDARD[wire.name] ?? Error
  const error = new Ctor(wire.message)
  if (error.name !== wire.name) Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true, enumerable: false })
  Object.defineProperty(error, 'stack', { value: wire.stack, writable: true, configurable: true, enumerable: false })
  if (wire.props) Object.assign(error, wire.props)
  if ('cause' in wire) Object.defineProperty(error, 'cause', { value: fromWire(wire.cause), writable: true, configurable: true, enumerable: false })
  return error
}

export function cloneable(value: unknown): boolean {
  return cloneProblem(value) === undefined
}

/** The values and failures of a batch, with each value or failure that can't be cloned turned into an error that says so. */
export function cloneableResults(given: unknown[], givenFailures: [number, number, unknown][] | undefined): { values: unknown[]; failures: [number, number, unknown][] } {
  const failures = new Map<number, [number, number, unknown]>()
  for (const f of givenFailures ?? []) failures.set(f[0], cloneable(f[2]) ? f : [f[0], f[1], toWire(f[2])])
  const values = given.slice()
  for (let i = 0; i < values.length; i++) {
    if (failures.has(i)) continue
    const why = cloneProblem(values[i])
    if (why === undefined) continue
    const problem = new Error(
      `the result could not be sent back from the worker thread: ${describe(values[i])} can't be structured-cloned ` +
        `(${textOf((toWire(why) as { message?: unknown }).message, 'unknown')}; results cross the thread boundary by structured clone: ` +
        'return plain data, arrays, Maps, typed arrays; no functions or symbols)',
    )
    problem.name = 'DataCloneError'
    failures.set(i, [i, THROWN, toWire(problem)])
    values[i] = undefined
  }
  return { values, failures: [...failures.values()].sort((a, b) => a[0] - b[0]) }
}

// ---- transfer -----------------------------------------------------------------

const kTransfer = Symbol.for('pipevine.transfer')

/** One registry per thread, shared by every copy of pipevine loaded in it (the bundle and a user's import). */
function registry(): WeakMap<object, readonly Transferable[]> {
  const holder = globalThis as unknown as Record<symbol, WeakMap<object, readonly Transferable[]> | undefined>
  return (holder[kTransfer] ??= new WeakMap())
}

export type Transferable = ArrayBuffer | import('node:worker_threads').MessagePort

/**
 * Marks `value` so that, when it crosses into or out of a worker thread, the
 * listed `ArrayBuffer`s are moved instead of copied (they become unusable on the
 * sending side). Return it from a thread handler, or give it as an item to a
 * thread stage. Returns `value` itself.
 *
 * @example
 * ```ts
 * // in the thread module
 * export default (n: number) => { const out = new Float64Array(n); fill(out); return transfer(out, [out.buffer]) }
 * ```
 */
export function transfer<T>(value: T, transferables: readonly Transferable[]): T {
  if (typeof value !== 'object' || value === null) throw new TypeError(`transfer: \`value\` must be an object (an ArrayBuffer, a typed array, or an object holding them), got ${value === null ? 'null' : typeof value}`)
  if (!Array.isArray(transferables)) throw new TypeError('transfer: `transferables` must be an array of ArrayBuffers or MessagePorts')
  registry().set(value as object, transferables)
  return value
}

/** Adds to `out` what `value` should move: what `transfer` marked, and with `auto`, buffers found at the top level or one level down. */
export function collectTransfers(value: unknown, auto: boolean, out: Set<Transferable>): void {
  if (typeof value !== 'object' || value === null) return
  try {
    collectFrom(value, auto, out)
  } catch {
    // A value that can't be looked into (a revoked Proxy) moves nothing; its clone fails its item.
  }
}

function collectFrom(value: object, auto: boolean, out: Set<Transferable>): void {
  const marked = registry().get(value)
  if (marked !== undefined) for (const t of marked) out.add(t)
  if (!auto) return
  if (addBuffer(value, out)) return
  if (Array.isArray(value)) {
    for (const element of value) if (typeof element === 'object' && element !== null) addBuffer(element, out)
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const key in value) {
      const element = (value as Record<string, unknown>)[key]
      if (typeof element === 'object' && element !== null) addBuffer(element, out)
    }
  }
}

/** A whole ArrayBuffer, or the buffer of a view that covers all of it (never a shared pool such as small Buffers use). */
function addBuffer(value: object, out: Set<Transferable>): boolean {
  if (value instanceof ArrayBuffer) {
    out.add(value)
    return true
  }
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer
    if (buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength) out.add(buffer)
    return true
  }
  return false
}
