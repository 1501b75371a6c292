// Hostile values (issue 11): data that real programs meet and that can't be
// described, stringified, inspected or cloned the usual way. Each kind is built
// fresh from a plain descriptor, so fast-check only ever prints descriptors.
import { left, right } from 'fp-ts/lib/Either.js'
import { StageError } from '../../src/index.js'

/** Kinds that are not Eithers themselves (the payloads of the real Eithers below). */
export const BASE_KINDS = ['nullProto', 'bigint', 'symbol', 'getter', 'toString', 'toJSON', 'revoked', 'buffer', 'lookRight', 'lookLeft', 'thenable'] as const
export const KINDS = [...BASE_KINDS, 'realLeft', 'realRight'] as const
export type BaseKind = (typeof BASE_KINDS)[number]
export type Kind = (typeof KINDS)[number]

/** One huge Buffer shared by every case: 1 MB, so anything that stringifies it whole shows up as slow. */
export const BIG = Buffer.alloc(1 << 20, 7)

const throws = (what: string) => () => {
  throw new Error(`${what} throws`)
}

/**
 * A fresh hostile value of `kind`; `n` varies it, `inner` is the payload of `realLeft`/`realRight`.
 * - nullProto: a database row (no prototype, so no toString) with a BigInt field (JSON.stringify throws)
 * - getter: an ORM-like object whose enumerable getter throws (JSON.stringify and structured clone throw)
 * - toString / toJSON: objects whose conversion to a string throws (toJSON: JSON.stringify throws too)
 * - revoked: a revoked Proxy (every property read, `instanceof` and clone throws)
 * - lookRight / lookLeft: Either look-alikes without the `right` / `left` key (plain values)
 * - thenable: an object whose `then` throws
 */
export function hostile(kind: Kind, n = 0, inner: BaseKind = 'nullProto'): unknown {
  switch (kind) {
    case 'nullProto': {
      const row = Object.create(null) as Record<string, unknown>
      row.id = 2n ** 70n + BigInt(n)
      row.name = `row ${n}`
      return row
    }
    case 'bigint':
      return 10n ** 30n + BigInt(n)
    case 'symbol':
      return Symbol(`hostile ${n}`)
    case 'getter':
      return Object.defineProperty({ n }, 'id', { enumerable: true, get: throws('the getter') })
    case 'toString':
      return { n, toString: throws('toString'), valueOf: throws('valueOf') }
    case 'toJSON':
      return { n, toJSON: throws('toJSON'), toString: throws('toString') }
    case 'revoked': {
      const { proxy, revoke } = Proxy.revocable({ n }, {})
      revoke()
      return proxy
    }
    case 'buffer':
      return BIG
    case 'lookRight':
      return { _tag: 'Right', payload: n }
    case 'lookLeft':
      return { _tag: 'Left', n }
    case 'thenable':
      return { n, then: throws('then') }
    case 'realLeft':
      return left(hostile(inner, n))
    case 'realRight':
      return right(hostile(inner, n))
  }
}

/** `instanceof StageError`, false instead of throwing for a value that can't be inspected. */
export function isStageError(value: unknown): value is StageError {
  try {
    return value instanceof StageError
  } catch {
    return false
  }
}

/**
 * A self-contained thread handler (for `thread(fn)`) that answers most calls with
 * a hostile value, thrown or returned: some can be cloned back (a Right, or a
 * Left when thrown), some can't (a Left of that item only). Its call counter
 * lives in the thread's global object.
 */
export const threadChaos = (item: any): unknown => {
  const g = globalThis as any
  const n = (g.__hostileCalls = (g.__hostileCalls ?? 0) + 1)
  switch (n % 10) {
    case 0:
      throw Symbol('thrown in a thread')
    case 1:
      return Symbol('returned from a thread')
    case 2:
      return Object.defineProperty({}, 'id', { enumerable: true, get: () => { throw new Error('getter') } })
    case 3:
      throw { toString: () => { throw new Error('toString') }, toJSON: () => { throw new Error('toJSON') } }
    case 4: {
      const row = Object.create(null)
      row.id = 10n ** 20n
      return row
    }
    case 5:
      return { _tag: 'Right', payload: n }
    case 6:
      return { _tag: 'Left' }
    case 7:
      throw 10n ** 20n
    case 8:
      return n % 20 === 8 ? new Uint8Array(1 << 20) : { _tag: 'Left', left: 'a Left from a thread' }
    default:
      return item
  }
}

/**
 * A self-contained thread handler driven by plain jobs `{ i, kind, how }`: it
 * throws or returns a value of that kind made in the thread. Anything else is echoed.
 */
export const threadJob = (job: any): unknown => {
  if (job === null || typeof job !== 'object' || !('how' in job)) return job
  let value: unknown
  switch (job.kind) {
    case 'symbol':
      value = Symbol('made in a thread')
      break
    case 'function':
      value = () => job.i
      break
    case 'toString':
      value = { toString: () => { throw new Error('toString') }, toJSON: () => { throw new Error('toJSON') } }
      break
    case 'getter':
      value = Object.defineProperty({ i: job.i }, 'id', { enumerable: true, get: () => { throw new Error('getter') } })
      break
    case 'revoked': {
      const { proxy, revoke } = Proxy.revocable({}, {})
      revoke()
      value = proxy
      break
    }
    case 'nullProto': {
      const row = Object.create(null)
      row.id = 10n ** 20n
      row.i = job.i
      value = row
      break
    }
    case 'bigint':
      value = 10n ** 20n + BigInt(job.i)
      break
    case 'lookRight':
      value = { _tag: 'Right', payload: job.i }
      break
    case 'lookLeft':
      value = { _tag: 'Left', i: job.i }
      break
    case 'realLeft':
      value = { _tag: 'Left', left: `job ${job.i} said no` }
      break
  }
  if (job.how === 'throw') throw value
  return value
}

/** `threadJob` kinds whose value can't travel back from the thread by structured clone. */
export const UNCLONEABLE_IN_THREAD = new Set(['symbol', 'function', 'toString', 'getter', 'revoked'])
