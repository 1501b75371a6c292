/**
 * How items and results cross Redis: a value becomes something `JSON.stringify`
 * keeps exactly, and back. The default codec tags what JSON would change
 * (superjson-style); a value it can't carry fails its item as `unsendable`.
 *
 * @example
 * ```ts
 * import { remote, type Codec } from 'pipevine/bullmq'
 * // plain JSON, accepting its changes (Dates arrive as strings); give `serve` the same codec
 * const codec: Codec = { encode: (value) => JSON.parse(JSON.stringify(value)), decode: (json) => json }
 * const prices = remote('prices', { connection: { host: '127.0.0.1', port: 6379 }, codec })
 * ```
 */
export interface Codec {
  /** A JSON-safe form of `value`; throws when it can't be sent. */
  encode(value: unknown): unknown
  /** The value back from what `encode` returned (after a JSON round trip). */
  decode(json: unknown): unknown
}

/**
 * An item, result or error that the codec can't carry faithfully: a function, a
 * symbol, a class instance, a cycle. Its item fails with it; nothing is sent changed.
 */
export class UnsendableError extends Error {
  /** @hidden */
  override readonly name = 'UnsendableError'
  readonly code = 'unsendable'
  constructor(
    /** Where in the value: `$` is the value itself, `$.a[2]` a part of it. */
    readonly path: string,
    what: string,
  ) {
    super(`unsendable: ${what} at ${path} can't cross Redis as JSON (pipevine/bullmq carries JSON plus Date, Map, Set, BigInt, undefined, NaN, ±Infinity, -0, RegExp, Error, Uint8Array and Buffer; pass a \`codec\` for more)`)
  }
}

/** The tag key; a plain object that has this key itself is wrapped so it reads back unchanged. */
const TAG = '$pv'

function describeValue(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`
  if (typeof value === 'symbol') return `a symbol (${String(value.description)})`
  const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name
  return ctor ? `a ${ctor} instance` : 'an object'
}

function encodeNumber(n: number): unknown {
  if (Number.isFinite(n)) return Object.is(n, -0) ? { [TAG]: 'n', v: '-0' } : n
  return { [TAG]: 'n', v: String(n) }
}

function encodeError(error: Error, path: string, seen: Set<object>): unknown {
  const fields: Record<string, unknown> = { name: error.name, message: error.message }
  if (error.stack !== undefined) fields.stack = error.stack
  for (const key of Object.keys(error)) if (!(key in fields)) fields[key] = encodeAt((error as unknown as Record<string, unknown>)[key], `${path}.${key}`, seen)
  if ('cause' in error) fields.cause = encodeAt(error.cause, `${path}.cause`, seen)
  return { [TAG]: 'e', v: fields }
}

function encodeObject(value: object, path: string, seen: Set<object>): unknown {
  if (Array.isArray(value)) {
    const out = new Array(value.length)
    for (let i = 0; i < value.length; i++) out[i] = encodeAt(value[i], `${path}[${i}]`, seen)
    return out
  }
  const proto = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) {
    if (Object.getOwnPropertySymbols(value).length > 0) throw new UnsendableError(path, 'an object with symbol keys')
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) out[key] = encodeAt((value as Record<string, unknown>)[key], `${path}.${key}`, seen)
    return Object.prototype.hasOwnProperty.call(value, TAG) ? { [TAG]: 'o', v: out } : out
  }
  if (value instanceof Date) return { [TAG]: 'd', v: Number.isNaN(value.getTime()) ? null : value.toISOString() }
  if (value instanceof Map) return { [TAG]: 'm', v: [...value].map(([k, v], i) => [encodeAt(k, `${path}<key ${i}>`, seen), encodeAt(v, `${path}<value ${i}>`, seen)]) }
  if (value instanceof Set) return { [TAG]: 's', v: [...value].map((v, i) => encodeAt(v, `${path}<${i}>`, seen)) }
  if (value instanceof RegExp) return { [TAG]: 'r', v: [value.source, value.flags] }
  if (Buffer.isBuffer(value)) return { [TAG]: 'B', v: value.toString('base64') }
  if (proto === Uint8Array.prototype) return { [TAG]: 'U', v: Buffer.from(value as Uint8Array).toString('base64') }
  if (value instanceof Error) return encodeError(value, path, seen)
  throw new UnsendableError(path, describeValue(value))
}

function encodeAt(value: unknown, path: string, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return encodeNumber(value)
    case 'undefined':
      return { [TAG]: 'u' }
    case 'bigint':
      return { [TAG]: 'b', v: value.toString() }
    case 'object': {
      if (value === null) return null
      if (seen.has(value)) throw new UnsendableError(path, 'a cycle (a value that contains itself)')
      seen.add(value)
      try {
        return encodeObject(value, path, seen)
      } finally {
        seen.delete(value)
      }
    }
    default:
      throw new UnsendableError(path, describeValue(value))
  }
}

function decodeTagged(tagged: Record<string, unknown>): unknown {
  const v = tagged.v
  switch (tagged[TAG]) {
    case 'u':
      return undefined
    case 'n':
      return v === '-0' ? -0 : Number(v)
    case 'b':
      return BigInt(v as string)
    case 'd':
      return new Date(v === null ? Number.NaN : (v as string))
    case 'm':
      return new Map((v as unknown[][]).map(([k, x]) => [decodeValue(k), decodeValue(x)]))
    case 's':
      return new Set((v as unknown[]).map(decodeValue))
    case 'r':
      return new RegExp((v as string[])[0]!, (v as string[])[1])
    case 'B':
      return Buffer.from(v as string, 'base64')
    case 'U':
      return new Uint8Array(Buffer.from(v as string, 'base64'))
    case 'e':
      return decodeError(v as Record<string, unknown>)
    case 'o':
      return decodePlain(v as Record<string, unknown>)
    default:
      throw new TypeError(`pipevine/bullmq: unknown tag ${JSON.stringify(tagged[TAG])} (sent by a different version?)`)
  }
}

function decodeError(fields: Record<string, unknown>): Error {
  const error = new Error(String(fields.message ?? ''))
  for (const key of Object.keys(fields)) {
    if (key === 'message') continue
    const value = key === 'name' || key === 'stack' ? fields[key] : decodeValue(fields[key])
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable: key !== 'stack' && key !== 'cause' && key !== 'name' })
  }
  return error
}

function decodePlain(json: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(json)) {
    const value = decodeValue(json[key])
    // `__proto__` read back from JSON is an own key; keep it one.
    if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true })
    else out[key] = value
  }
  return out
}

function decodeValue(json: unknown): unknown {
  if (typeof json !== 'object' || json === null) return json
  if (Array.isArray(json)) return json.map(decodeValue)
  if (Object.prototype.hasOwnProperty.call(json, TAG)) return decodeTagged(json as Record<string, unknown>)
  return decodePlain(json as Record<string, unknown>)
}

/**
 * The default codec: JSON, with tags for what JSON would change (Date, Map, Set,
 * BigInt, undefined, NaN, ±Infinity, -0, RegExp, Error, Uint8Array, Buffer).
 * Functions, symbols, class instances and cycles throw an {@link UnsendableError};
 * an object reached twice (not a cycle) arrives as two copies.
 *
 * @example
 * ```ts
 * import { taggedJson } from 'pipevine/bullmq'
 * taggedJson.decode(JSON.parse(JSON.stringify(taggedJson.encode(new Map([[1n, new Date(0)]]))))) // Map { 1n => 1970-01-01 }
 * ```
 */
export const taggedJson: Codec = {
  encode: (value) => encodeAt(value, '$', new Set()),
  decode: decodeValue,
}
