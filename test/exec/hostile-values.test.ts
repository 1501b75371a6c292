// Hostile values (issue 11 points 1, 3 and 13): items, thrown values and results that can't be turned
// into a string, thenables that break the Promise rules, and items whose description would be costly.
// Each must end as an ordinary Right or Left of its own item: no hang, no unhandled rejection, no
// `internal` end of the run.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  batch,
  collect,
  deadLetter,
  fork,
  kill,
  pipe,
  pool,
  retry,
  run,
  StageError,
  values,
  type Logger,
  type Operator,
  type StageError as StageErrorT,
  type StageOutput,
} from '../../src/index.js'
import { withTimeout, leftOf, range, right } from '../_helpers.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => void unhandled.push(reason))

/** No promise was left rejected without a handler (Node reports them once the microtasks have run). */
async function assertNoUnhandled(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(unhandled.length, 0, `unhandled rejections: ${unhandled.length}`)
}

function capturing(): Logger & { lines: string[] } {
  const lines: string[] = []
  const at = (message: string): void => void lines.push(message)
  return { lines, debug: at, info: at, warn: at, error: at }
}

/** Values that `String()` or `JSON.stringify` can't handle, or only slowly; plain data, no Proxy. */
function hostile(): unknown[] {
  const cyclic: Record<string, unknown> = { n: 1n }
  cyclic.self = cyclic
  const throwing = (): never => {
    throw new Error('trap')
  }
  return [
    Object.assign(Object.create(null), { id: 1n }), // a database row
    { toString: throwing, toJSON: throwing, [Symbol.toPrimitive]: throwing },
    { get boom(): never { return throwing() } },
    cyclic,
    12345678901234567890n,
    Symbol('s'),
    Buffer.alloc(256 * 1024),
  ]
}

/** A Proxy that was revoked: any look at it throws, even `Array.isArray`; `await` on it rejects. */
function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

/** Proxies that throw at any look; as a handler's result they fail the item, as `await` on them would. */
function proxies(): object[] {
  const throwing = (): never => {
    throw new Error('trap')
  }
  return [revoked(), new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing, getPrototypeOf: throwing })]
}

const everything = (): unknown[] => [...hostile(), ...proxies()]

const settle = <T>(promise: Promise<T>): Promise<T> => withTimeout(promise, 3000, 'the run')

test('an item that cannot be turned into a string becomes a Left like any failure (sync and async handlers, silent or logged)', async () => {
  for (const logged of [false, true]) {
    for (const async of [false, true]) {
      const log = logged ? capturing() : undefined
      const items = everything()
      const fail = (): never => {
        throw new Error('no')
      }
      const handler = async ? async () => fail() : fail
      const got = right(await settle(collect(pipe(items, pool(handler, { name: 'h', retries: 1 })), { log })))
      assert.is(got.errors.length, items.length)
      assert.is(got.report.failed, items.length)
      got.errors.forEach((error, i) => {
        assert.ok(error instanceof StageError)
        assert.is(error.item, items[i], 'the item itself, untouched')
        assert.is(error.attempts, 2)
        assert.is(error.message, 'stage "h" failed after 2 attempts: no')
      })
      if (log !== undefined) {
        assert.is(log.lines.filter((l) => l.includes('item failed')).length, items.length)
        for (const line of log.lines) assert.ok(line.length < 300, `a short line: ${line.length} chars`)
      }
    }
  }
  await assertNoUnhandled()
})

test('a thrown value that cannot be turned into a string is its item\'s cause (thrown, rejected, timed, forked)', async () => {
  const thrown = everything()
  const sync = (i: number): never => {
    throw thrown[i]
  }
  const async = async (i: number): Promise<never> => sync(i)
  // Stages of different output types in one array: typed as the plain operators they all are.
  const stages: Operator<number, StageOutput<unknown>>[] = [pool(sync), pool(async, { retries: 1 }), pool(async, { timeout: 5_000 }), fork([sync, (i: number) => i], (r) => r), fork([async], (r) => r, { retries: 1 })]
  for (const stage of stages) {
    const got = right(await settle(collect(pipe(range(thrown.length), stage), { log: capturing() })))
    assert.is(got.errors.length, thrown.length)
    for (const error of got.errors) {
      assert.is(error.cause, thrown[error.item as number])
      assert.type(error.message, 'string')
    }
  }
  await assertNoUnhandled()
})

test('hostile items and thrown values go through retry, values(), deadLetter, fork, batch, failFast and kill', async () => {
  const items = everything()
  const n = items.length
  const log = capturing()
  const throwIt = (x: unknown): never => {
    throw x
  }
  const same = (x: unknown): unknown => x

  // Values pass through unchanged, and the same values thrown come back as causes.
  const data = hostile()
  const passed = right(await settle(collect(pipe(data, pool(same), batch(3), pool((b: unknown[]) => b), values()), { log })))
  assert.is(passed.values.flat().length, data.length)
  passed.values.flat().forEach((value, i) => assert.is(value, data[i]))
  const batched = right(await settle(collect(pipe(items, batch(4), pool((b: unknown[]) => b.length)), { log })))
  assert.is(batched.values.reduce((a, b) => a + b, 0), n)

  const retried = right(await settle(collect(pipe(items, pool(throwIt), retry({ retries: 2, backoff: 'none' })), { log })))
  assert.is(retried.errors.length, n)
  retried.errors.forEach((error, i) => {
    assert.is(error.cause, items[i])
    assert.is(error.attempts, 3)
  })

  const dropped = right(await settle(run(pipe(items, pool(throwIt), values()), { log })))
  assert.is(dropped.failed, n)

  const sunk: StageErrorT[] = []
  const lettered = right(await settle(collect(pipe(items, pool(throwIt), deadLetter((e) => void sunk.push(e))), { log })))
  assert.is(lettered.values.length, 0)
  assert.is(sunk.length, n)
  sunk.forEach((error, i) => assert.is(error.item, items[i]))

  const forked = right(await settle(collect(pipe(items, fork([same, throwIt], ([a]) => a)), { log })))
  assert.is(forked.errors.length, n)

  // failFast ends the run at the first of them, whichever way the Left leaves.
  for (const flow of [pipe(items, pool(throwIt)), pipe(items, pool(throwIt), values())]) {
    const failed = leftOf(await settle(run(flow, { log, failFast: true })))
    assert.is(failed.kind, 'failed')
    assert.type(failed.message, 'string')
  }

  for (const reason of items) {
    const killed = leftOf(await settle(run(pipe([1, 2], pool(() => kill(reason))), { log })))
    assert.is(killed.kind, 'killed')
    assert.is(killed.reason, reason)
  }
  await assertNoUnhandled()
})

test('a source, an abort reason or a handler result that cannot be turned into a string ends as its own kind', async () => {
  for (const value of everything()) {
    async function* source(): AsyncGenerator<number> {
      yield 1
      throw value
    }
    const failed = leftOf(await settle(run(pipe(source(), pool((n: number) => n)))))
    assert.is(failed.kind, 'source')
    assert.is(failed.cause, value)

    const ac = new AbortController()
    ac.abort(value)
    assert.is(leftOf(await settle(run(pipe([1], pool((n: number) => n)), { signal: ac.signal }))).kind, 'cancelled')
    const late = new AbortController()
    const cancelled = settle(run(pipe([1, 2], pool(() => new Promise(() => {}))), { signal: late.signal }))
    late.abort(value)
    assert.is(leftOf(await cancelled).kind, 'cancelled')
  }
  // Returned, not thrown: a value is the item's result; a Proxy that throws at any look fails it, as `await` on it would.
  const results = [...hostile(), ...proxies()]
  const plain = hostile().length
  for (const async of [false, true]) {
    const got = right(await settle(collect(pipe(range(results.length), pool((i: number) => (async ? Promise.resolve().then(() => results[i]) : results[i]))))))
    assert.is(got.values.length, plain)
    got.values.forEach((value, i) => assert.is(value, results[i]))
    assert.equal(got.errors.map((e) => e.item), [plain, plain + 1])
  }
  // An Either look-alike whose value can't be read fails its item with what reading it threw.
  const lookAlike = { _tag: 'Right', get right(): never { throw new Error('unreadable right') } }
  const fromPool = right(await settle(collect(pipe([1], pool(() => lookAlike)))))
  const fromFork = right(await settle(collect(pipe([1], fork([() => lookAlike], (r) => r)))))
  for (const got of [fromPool, fromFork]) assert.is((got.errors[0]!.cause as Error).message, 'unreadable right')
  await assertNoUnhandled()
})

test('describing a failed item takes bounded time and space: 400 failing 256 KB Buffers cost about as much as succeeding ones', async () => {
  const big = Buffer.alloc(256 * 1024, 7)
  const items = range(400).map(() => big)
  const timed = async (handler: (b: Buffer) => unknown, log?: Logger): Promise<number> => {
    const started = performance.now()
    right(await settle(run(pipe(items, pool(handler, 4)), { log })))
    return performance.now() - started
  }
  const fail = (): never => {
    throw new Error('rejected')
  }
  await timed(() => 1) // warm-up
  const succeeding = await timed((b) => b.length)
  const log = capturing()
  const silentFailing = await timed(fail)
  const loggedFailing = await timed(fail, log)
  // Before: JSON.stringify of each whole Buffer, about 15 ms apiece, logging or not.
  assert.ok(silentFailing < succeeding + 500, `silent: ${silentFailing.toFixed(0)} ms failing vs ${succeeding.toFixed(0)} ms succeeding`)
  assert.ok(loggedFailing < succeeding + 500, `logged: ${loggedFailing.toFixed(0)} ms failing vs ${succeeding.toFixed(0)} ms succeeding`)
  assert.is(log.lines.length, 400)
  for (const line of log.lines) assert.ok(line.length < 200, `a short line: ${line.length} chars`)
  assert.match(log.lines[0]!, /Buffer\(262144\) \[7,7,7/)
})

test('a failed item is described only when the logger reads warn', async () => {
  let looks = 0
  // Describing an object lists its keys; the trap counts each time that happens.
  const item = new Proxy({ id: 1 }, { ownKeys: (target) => (looks++, Reflect.ownKeys(target)) })
  const flow = (): AsyncIterable<unknown> =>
    pipe(
      [item],
      pool(() => {
        throw new Error('no')
      }),
    )
  for (const log of [undefined, false, { error() {} }, { warn: undefined, debug() {} }]) {
    assert.is(right(await settle(run(flow(), { log }))).failed, 1)
    assert.is(looks, 0, `not described for ${JSON.stringify(log)}`)
  }
  const lines: string[] = []
  right(await settle(run(flow(), { log: { warn: (line: string) => void lines.push(line) } })))
  assert.ok(looks > 0)
  assert.match(lines[0]!, /\(item: \{"id":1\}\)/)
})

/** Thenables that break the Promise rules, each meaning `value` (or, for those that throw, `error`). */
function badThenables(value: unknown, error: Error): { name: string; make: () => unknown; ok: boolean }[] {
  return [
    { name: 'then throws', ok: false, make: () => ({ then: () => { throw error } }) },
    { name: 'the then getter throws', ok: false, make: () => ({ get then(): never { throw error } }) },
    { name: 'then resolves, then rejects, then resolves again, synchronously', ok: true, make: () => ({ then: (res: (v: unknown) => void, rej: (e: unknown) => void) => { res(value); rej(error); res('second') } }) },
    { name: 'then rejects twice, later', ok: false, make: () => ({ then: (_: unknown, rej: (e: unknown) => void) => void setTimeout(() => { rej(error); rej(new Error('second')) }, 1) }) },
    { name: 'then resolves and then throws', ok: true, make: () => ({ then: (res: (v: unknown) => void) => { res(value); throw error } }) },
  ]
}

test('a handler returning a thenable that throws, or settles more than once, fails or succeeds only its own item, once', async () => {
  const error = new Error('bad thenable')
  for (const { name, make, ok } of badThenables('value', error)) {
    const h = (i: number): unknown => (i === 2 ? make() : i)
    const stages = { pool: pool(h, 2), timed: pool(h, { timeout: 5_000 }), fork: fork([h, (i: number) => i], ([a]) => a), forkWorkers: fork([h], ([a]) => a, { retries: 1 }) }
    for (const [stageName, stage] of Object.entries(stages)) {
      const got = right(await settle(collect(pipe(range(5), stage))))
      const what = `${name} (${stageName})`
      assert.is(got.values.length + got.errors.length, 5, `every item exactly once: ${what}`)
      if (ok) assert.equal([...got.values].sort(), [0, 1, 3, 4, 'value'], what)
      else {
        assert.equal([...got.values].sort(), [0, 1, 3, 4], what)
        assert.is(got.errors[0]!.item, 2, what)
        assert.is(got.errors[0]!.cause, error, what)
      }
    }
  }
  // Retries in place apply: the second attempt returns a plain value.
  for (const { make } of badThenables('value', error)) {
    const got = right(await settle(collect(pipe([1], pool((_: number, ctx) => (ctx.attempt === 1 ? make() : 'again'), { retries: 1 })))))
    assert.equal(got.values.length, 1)
  }
  await assertNoUnhandled()
})

test('init, merge, dispose and a deadLetter sink returning a bad thenable: each fails where it is documented to, nothing hangs', async () => {
  const error = new Error('bad thenable')
  for (const { name, make, ok } of badThenables({ seeded: true }, error)) {
    const inited = right(await settle(collect(pipe(range(3), pool((i: number, ctx) => (ctx.state.get('seeded') ? i : -1), { init: make })))))
    if (ok) assert.equal(inited.values, [0, 1, 2], name)
    else assert.equal(inited.errors.map((e) => e.cause), [error, error, error], name)

    const merged = right(await settle(collect(pipe(range(3), fork([(i: number) => i], () => make())))))
    assert.is(merged.values.length + merged.errors.length, 3, name)
    if (!ok) assert.is(merged.errors[0]!.cause, error, name)

    const log = capturing()
    const disposed = right(await settle(run(pipe(range(3), pool((i: number) => i, { dispose: make })), { log })))
    assert.is(disposed.processed, 3, name)
    if (!ok) assert.match(log.lines.join('\n'), /dispose failed.*bad thenable/, name)

    const sunk = await settle(run(pipe(range(3), pool(() => Promise.reject(new Error('x'))), deadLetter(() => make()))))
    if (ok) assert.is(right(sunk).failed, 3, name)
    else assert.is(leftOf(sunk).kind, 'internal', name)
  }
  await assertNoUnhandled()
})

test.run()
