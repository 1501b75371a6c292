// The JSON traps: what JSON would change either round-trips through the tagged codec or fails its item as `unsendable`.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, pipe } from '../../src/index.js'
import { remote, serve, taggedJson, UnsendableError, type ServeHandle } from '../../src/bullmq.js'
import { right } from '../_helpers.js'
import { queueName, redis } from './_setup.js'
import type { RedisServer } from './_redis.js'

const roundTrip = (value: unknown): unknown => taggedJson.decode(JSON.parse(JSON.stringify(taggedJson.encode(value))))

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** The values JSON.stringify would silently change, each with what it should read back as. */
const traps: Array<[string, unknown]> = [
  ['Date', new Date('2026-11-30T12:34:56.789Z')],
  ['invalid Date', new Date(Number.NaN)],
  ['Map', new Map<unknown, unknown>([[1, 'one'], ['k', new Date(0)], [{ a: 1 }, [2]]])],
  ['Set', new Set([1, 'two', 3n])],
  ['BigInt', 12345678901234567890n],
  ['undefined in an array', [1, undefined, 3]],
  ['undefined as a property', { a: undefined, b: 1 }],
  ['undefined itself', undefined],
  ['NaN, Infinity, -Infinity, -0', [Number.NaN, Infinity, -Infinity, -0]],
  ['RegExp', /a+b/giu],
  ['Buffer', Buffer.from('hello')],
  ['Uint8Array', new Uint8Array([1, 2, 255])],
  ['an object with the tag key', { $pv: 'd', v: 'not a date' }],
  ['nested', { when: [new Date(1), { big: 1n, set: new Set([undefined]) }] }],
]

const unsendable: Array<[string, unknown, string]> = [
  ['a class instance', new Point(1, 2), 'a Point instance at $'],
  ['a function', { f: () => 1 }, 'a function (f) at $.f'],
  ['a symbol', [Symbol('s')], 'a symbol (s) at $[0]'],
  ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o })(), 'a cycle'],
  ['symbol keys', { [Symbol('k')]: 1 }, 'symbol keys'],
  ['a WeakMap', new WeakMap(), 'a WeakMap instance'],
]

for (const [what, value] of traps) {
  test(`the tagged codec round-trips ${what} through JSON unchanged`, () => {
    const back = roundTrip(value)
    if (value instanceof Date && Number.isNaN(value.getTime())) assert.ok(back instanceof Date && Number.isNaN(back.getTime()))
    else assert.equal(back, value)
    if (Array.isArray(value)) assert.is(Object.is((back as unknown[])[3], -0), Object.is(value[3], -0))
    if (Buffer.isBuffer(value)) assert.ok(Buffer.isBuffer(back))
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) assert.is(Object.getPrototypeOf(back), Uint8Array.prototype)
    if (what === 'undefined as a property') assert.ok('a' in (back as object))
  })
}

for (const [what, value, words] of unsendable) {
  test(`the tagged codec refuses ${what} with an UnsendableError naming it and where`, () => {
    let error: unknown
    try {
      taggedJson.encode(value)
    } catch (e) {
      error = e
    }
    assert.instance(error, UnsendableError)
    assert.is((error as UnsendableError).code, 'unsendable')
    assert.ok((error as Error).message.includes(words), (error as Error).message)
  })
}

test('an Error crosses with its name, message and own data', () => {
  const back = roundTrip(Object.assign(new RangeError('bad'), { code: 'E_BAD', when: new Date(5) })) as RangeError & { code: string; when: Date }
  assert.instance(back, Error)
  assert.is(back.name, 'RangeError')
  assert.is(back.message, 'bad')
  assert.is(back.code, 'E_BAD')
  assert.equal(back.when, new Date(5))
})

let server: RedisServer
let echo: ServeHandle
const queue = queueName('codec')
test.before(async () => {
  server = await redis()
  echo = serve(queue, (value: unknown) => (value === 'give me a class' ? new Point(0, 0) : value), { connection: server.connection, concurrency: 4 })
  await echo.ready()
})
test.after(async () => {
  await echo.close()
  await server.stop()
})

test('through Redis: every trap comes back from a served echo unchanged, in order', async () => {
  const values = traps.map(([, v]) => v).filter((v) => !(v instanceof Date && Number.isNaN(v.getTime())))
  const result = right(await collect(pipe(values.map((v) => ({ v })), remote<unknown, { v: unknown }>(queue, { connection: server.connection, concurrency: 4, ordered: true }))))
  assert.is(result.errors.length, 0)
  assert.equal(result.values.map((r) => r.v), values)
})

test('through Redis: an unsendable item fails as `unsendable` without reaching the handler; an unsendable result fails its item', async () => {
  const items = [1, new Point(1, 2), 'give me a class', 3]
  const result = right(await collect(pipe(items, remote<unknown, unknown>(queue, { connection: server.connection, concurrency: 2, ordered: true, retries: 1 }))))
  assert.equal(result.values, [1, 3])
  const [point, classy] = result.errors
  assert.is(point!.item, items[1])
  assert.instance(point!.cause, UnsendableError)
  assert.is(point!.attempts, 1, 'an unsendable item is not retried')
  assert.is((classy!.cause as Error).name, 'UnsendableError')
  assert.is((classy!.cause as { code?: string }).code, 'unsendable')
  assert.ok((classy!.cause as Error).message.includes('a Point instance'))
})

test.run()
