// remote on the runner core: the stage's limiter admits every remote attempt, and a served `skip` leaves as skipped (real Redis).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, isRight, pipe, retry, run, skip } from '../../src/index.js'
import { remote, type RemoteContext, type ServeHandle } from '../../src/bullmq.js'
import { ATTEMPT_CANCELLED, ATTEMPT_FAILED, ATTEMPT_OK, ATTEMPT_TIMEOUT } from '../../src/exec/engine/limiter.js'
import { abortTimed, deferred, drain, leftOf, range, right, stage, typeError, until, withTimeout } from '../_helpers.js'
import { queueName, runKeys, redisForFile } from './_setup.js'
import { limited, testLimiter } from '../exec/engine/_test-limiter.js'

const file = redisForFile(test)

const start = (queue: string, handler: (item: any, ctx: RemoteContext<any>) => unknown): Promise<ServeHandle> => file.serve(queue, handler, { concurrency: 8 })

const count = (outcomes: number[], outcome: number): number => outcomes.filter((o) => o === outcome).length

test('remote: every attempt (first, in place, replayed by a downstream retry) is admitted by the stage limiter, which bounds the served calls and hears each outcome', async () => {
  const queue = queueName('limited')
  const calls = { now: 0, max: 0 }
  await start(queue, async (n: number, ctx) => {
    calls.now++
    calls.max = Math.max(calls.max, calls.now)
    try {
      await new Promise((resolve) => setTimeout(resolve, 5))
      // Items 0..9 fail twice in place (retries: 1), so the downstream retry replays them once more.
      if (n < 10 && ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} of ${n}`)
      return n
    } finally {
      calls.now--
    }
  })
  const lim = testLimiter(2)
  const out = await drain(pipe(range(20), remote<number, number>(queue, { connection: file.server.connection, concurrency: 8, retries: 1, ...limited(lim.factory) }), retry({ retries: 1, baseMs: 1 })))
  assert.is(out.filter(isRight).length, 20)
  assert.is(lim.seen.acquired, 40, '20 first attempts + 10 in place + 10 replays')
  assert.is(count(lim.seen.outcomes, ATTEMPT_FAILED), 20)
  assert.is(count(lim.seen.outcomes, ATTEMPT_OK), 20)
  assert.ok(lim.seen.errors.every((e) => e instanceof Error && /attempt [12] of/.test(e.message)), 'each failure hands over its error')
  assert.is(lim.seen.maxRunning, 2)
  assert.ok(calls.max <= 2, `at most 2 served calls at once (${calls.max})`)
  assert.is(lim.seen.running, 0)
})

test('remote: a timed-out attempt is reported as a timeout', async () => {
  const queue = queueName('limited-timeout')
  await start(queue, () => new Promise(() => {}))
  const lim = testLimiter(2)
  const result = right(await collect(pipe([1], remote<number, number>(queue, { connection: file.server.connection, timeout: 100, ...limited(lim.factory) }))))
  assert.is(result.errors.length, 1)
  assert.equal(lim.seen.outcomes, [ATTEMPT_TIMEOUT])
})

test('remote: cancel while attempts wait for admission resolves within 100 ms, withdraws the tickets and leaves no job in Redis', async () => {
  const queue = queueName('held')
  await start(queue, (n: number) => n)
  const lim = testLimiter(1, true)
  const ac = new AbortController()
  const pending = run(pipe(range(30), remote<number, number>(queue, { connection: file.server.connection, concurrency: 3, name: 'held', ...limited(lim.factory) })), { signal: ac.signal })
  await until(() => lim.parked.length === 3, 'three attempts parked')
  const { result, ms } = await abortTimed(ac, pending, 'cancelled run')
  assert.ok(ms < 100, `resolved ${ms.toFixed(1)} ms after the abort`)
  assert.is(leftOf(result).kind, 'cancelled')
  assert.is(lim.parked.length, 0, 'every parked ticket withdrawn')
  assert.is(lim.seen.cancelled, 3)
  assert.is(lim.seen.outcomes.length, 0, 'nothing admitted, nothing released')
  assert.equal(await runKeys(file.server, queue), [])
})

test('remote: cancel during admitted attempts releases them as cancelled', async () => {
  const queue = queueName('admitted')
  const started = deferred()
  await start(queue, (_n: number, ctx) => {
    started.resolve()
    return new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
  })
  const lim = testLimiter(2)
  const ac = new AbortController()
  const pending = run(pipe(range(10), remote<number, number>(queue, { connection: file.server.connection, concurrency: 2, ...limited(lim.factory) })), { signal: ac.signal })
  await started.promise
  await until(() => lim.seen.running === 2, 'two admitted')
  ac.abort()
  await withTimeout(pending, 2_000, 'cancelled run')
  assert.is(count(lim.seen.outcomes, ATTEMPT_CANCELLED), 2)
  assert.is(lim.seen.running, 0)
})

test('remote: a served handler that returns skip makes the item leave as skipped (not a failure), in order, and serve counts it', async () => {
  const queue = queueName('skip')
  const handle = await start(queue, (n: number) => (n % 3 === 0 ? skip : n))
  const result = right(await collect(pipe(range(12), remote<number, number>(queue, { connection: file.server.connection, concurrency: 4, ordered: true, name: 'odd' }))))
  assert.equal(result.values, [1, 2, 4, 5, 7, 8, 10, 11])
  assert.is(result.errors.length, 0)
  const s = stage(result.report, 'odd')
  assert.is(s.skipped, 4)
  assert.is(s.processed, 8)
  assert.is(s.failed, 0)
  assert.is(result.report.skipped, 4)
  assert.is(handle.report().skipped, 4)
  assert.is(handle.report().processed, 8)
})

test("remote takes pool's options through pool (named as remote's), but not init, dispose or fork", () => {
  const connection = { host: '127.0.0.1', port: 1 }
  typeError(() => remote('q', { connection, init: () => ({}) } as never), 'remote', 'init', 'serve')
  typeError(() => remote('q', { connection, dispose: () => {} } as never), 'remote', 'dispose')
  typeError(() => remote('q', { connection, fork: () => 0 } as never), 'remote', 'fork')
  typeError(() => remote('q', { connection, concurrency: Infinity }), 'remote', 'concurrency')
  typeError(() => remote('q', { connection, buffer: -1 }), 'remote', 'buffer')
  typeError(() => remote('q', { connection, ...limited(1 as never) }), 'remote', 'limiter')
  assert.throws(() => remote('q', { connection, wat: 1 } as never), (e: Error) => /^remote: unknown option `wat`/.test(e.message) && e.message.includes('connection') && !e.message.includes('init'))
})

test.run()
