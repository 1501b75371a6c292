/*
 * Describing any value for a message or a log line. Items and thrown values come
 * from user code and can be anything: a database row with a null prototype and
 * BigInt fields, a revoked Proxy, an object whose getters or `toString` throw, a
 * 256 KB Buffer. `String()` and `JSON.stringify` throw on some of these and take
 * time in proportion to the value on others, so this walks only the prefix that
 * fits in the output, reads properties through their descriptors (never running a
 * getter, `toJSON` or `toString`), and never throws: what can't be read shows as
 * `[unreadable]`.
 */

const UNREADABLE = '[unreadable]'

/** Non-string, non-Error thrown values are described in at most this many characters. */
const MESSAGE_MAX = 200

/** Whether `value` is an Error (also from another realm); false for anything that can't be inspected. */
export function isError(value: unknown): value is Error {
  if (typeof value !== 'object' || value === null) return false
  try {
    return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]'
  } catch {
    return false
  }
}

/**
 * A short, single-line description of any value, at most `max` characters, in a
 * JSON-like form (`{"id":1n}`, `Buffer(262144) [0,0,…`); never throws, and takes
 * time bounded by `max`, whatever the value (but for the key count of one object).
 */
export function describeValue(value: unknown, max = 80): string {
  const out = new Out(max)
  write(out, value)
  const text = out.text
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text
}

/** A short, single-line description of any thrown value: an Error's message, a string as is, else `describeValue`. */
export function messageOf(error: unknown): string {
  if (typeof error === 'string') return error
  if (isError(error)) {
    try {
      const message = error.message
      if (typeof message === 'string') return message || String(error.name)
    } catch {
      // a `message` or `name` getter that throws: describe it like any object
    }
  }
  return describeValue(error, MESSAGE_MAX)
}

class Out {
  text = ''
  constructor(readonly max: number) {}

  /** Whether the output is already past its bound (the caller stops walking). */
  get full(): boolean {
    return this.text.length > this.max
  }

  /** Room left, plus one so that a cut shows as `…`. */
  get room(): number {
    return this.max - this.text.length + 1
  }
}

function quote(text: string, room: number): string {
  return JSON.stringify(text.length > room ? text.slice(0, Math.max(0, room)) : text)
}

function write(out: Out, value: unknown): void {
  if (out.full) return
  switch (typeof value) {
    case 'string':
      out.text += quote(value, out.room)
      return
    case 'number':
    case 'boolean':
    case 'undefined':
      out.text += String(value)
      return
    case 'bigint':
      out.text += bigint(value)
      return
    case 'symbol':
      out.text += guarded(() => Symbol.prototype.toString.call(value))
      return
    case 'function':
      out.text += `[Function ${guarded(() => ownData(value, 'name'), '') || 'anonymous'}]`
      return
    default:
      if (value === null) out.text += 'null'
      else writeObject(out, value as object)
  }
}

/** A BigInt's digits take time in proportion to its size: a huge one is only sized. */
function bigint(value: bigint): string {
  const limit = 10n ** 60n
  if (value < limit && value > -limit) return `${value}n`
  return `[BigInt of ${value.toString(16).length * 4} bits]`
}

function writeObject(out: Out, value: object): void {
  const start = out.text.length
  try {
    if (ArrayBuffer.isView(value)) return writeView(out, value)
    if (Array.isArray(value)) return writeArray(out, value)
    if (isError(value)) {
      out.text += `[${guarded(() => String((value as Error).name))}: ${quoteless(guarded(() => (value as Error).message), out.room)}]`
      return
    }
    if (value instanceof Date) {
      out.text += guarded(() => Date.prototype.toISOString.call(value), 'Invalid Date')
      return
    }
    if (value instanceof RegExp) {
      out.text += guarded(() => RegExp.prototype.toString.call(value))
      return
    }
    if (value instanceof ArrayBuffer) {
      out.text += `ArrayBuffer(${value.byteLength})`
      return
    }
    if (value instanceof Map || value instanceof Set) return writeCollection(out, value)
    writePlain(out, value)
  } catch {
    // A revoked Proxy, or a Proxy whose traps throw.
    out.text = out.text.slice(0, start) + UNREADABLE
  }
}

function writeView(out: Out, view: ArrayBufferView): void {
  const name = className(view) ?? 'TypedArray'
  if (view instanceof DataView) {
    out.text += `${name}(${view.byteLength})`
    return
  }
  const array = view as unknown as ArrayLike<unknown>
  const length = array.length
  out.text += `${name}(${length}) [`
  for (let i = 0; i < length; i++) {
    if (out.full) return
    if (i > 0) out.text += ','
    write(out, array[i])
  }
  out.text += ']'
}

function writeArray(out: Out, array: readonly unknown[]): void {
  const length = array.length
  out.text += '['
  for (let i = 0; i < length; i++) {
    if (out.full) return
    if (i > 0) out.text += ','
    writeEntry(out, array, i)
  }
  out.text += ']'
}

function writeCollection(out: Out, collection: Map<unknown, unknown> | Set<unknown>): void {
  const isMap = collection instanceof Map
  out.text += `${className(collection) ?? (isMap ? 'Map' : 'Set')}(${collection.size}) {`
  const entries = isMap ? Map.prototype.entries.call(collection) : Set.prototype.values.call(collection)
  let first = true
  for (const entry of entries as Iterable<unknown>) {
    if (out.full) return
    if (!first) out.text += ','
    first = false
    if (isMap) {
      write(out, (entry as [unknown, unknown])[0])
      out.text += ' => '
      write(out, (entry as [unknown, unknown])[1])
    } else write(out, entry)
  }
  out.text += '}'
}

function writePlain(out: Out, value: object): void {
  const name = className(value)
  if (name !== undefined) out.text += `${name} `
  out.text += '{'
  const keys = Object.keys(value)
  for (let i = 0; i < keys.length; i++) {
    if (out.full) return
    if (i > 0) out.text += ','
    out.text += `${quote(keys[i]!, out.room)}:`
    writeEntry(out, value, keys[i]!)
  }
  out.text += '}'
}

/** One property, read through its descriptor: a getter is shown, not run. */
function writeEntry(out: Out, owner: object, key: PropertyKey): void {
  let descriptor: PropertyDescriptor | undefined
  try {
    descriptor = Object.getOwnPropertyDescriptor(owner, key)
  } catch {
    out.text += UNREADABLE
    return
  }
  if (descriptor === undefined) out.text += 'undefined'
  else if (descriptor.get !== undefined || descriptor.set !== undefined) out.text += '[Getter]'
  else write(out, descriptor.value)
}

/** The name of a value's class, when it is not a plain object (nor a null-prototype one). */
function className(value: object): string | undefined {
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto === null || proto === Object.prototype || typeof proto !== 'object') return undefined
  const ctor = ownData(proto, 'constructor')
  if (typeof ctor !== 'function') return undefined
  const name = ownData(ctor, 'name')
  return typeof name === 'string' && name !== '' ? name : undefined
}

function ownData(owner: object, key: PropertyKey): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(owner, key)
  return descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined
}

function quoteless(text: string, room: number): string {
  return text.length > room ? text.slice(0, Math.max(0, room)) : text
}

function guarded(read: () => unknown, fallback = UNREADABLE): string {
  try {
    const text = read()
    return typeof text === 'string' ? text : fallback
  } catch {
    return fallback
  }
}
