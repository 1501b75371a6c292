// Delivery: serving processes that die, cancellation across processes, Redis going away and coming back.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, pipe, pool, run } from '../../src/index.js'
import { remote, serve, type ServeHandle } from '../../src/bullmq.js'
import { leftOf, range, right, withTimeout } from '../_helpers.js'
import { queueName, redis, runKeys } from './_setup.js'
import { startServing, type RedisServer, type ServingProcess } from './_redis.js'

let server: RedisServer
const children: ServingProcess[] = []
const handles: ServeHandle[] = []
test.before(async () => {
  server = await redis()
})
test.after.each(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()))
  await Promise.all(handles.splice(0).map((h) => h.close({ force: true })))
})
test.after(async () => {
  await server.stop()
})

// A dead worker's job is handed on after lockDuration (+ up to stalledInterval): kept short here.
const FAST_STALL = { lockDuration: 600, stalledInterval: 300, maxStalledCount: 5 }

test('2 serving processes, one SIGKILLed mid-run: every item comes back exactly once', async () => {
  const queue = queueName('sigkill')
  const a = startServing(server.port, queue, 'double', { concurrency: 4, delayMs: 20, ...FAST_STALL })
  const b = startServing(server.port, queue, 'double', { concurrency: 4, delayMs: 20, ...FAST_STALL })
  children.push(a, b)
  await Promise.all([a.ready, b.ready])
  const items = range(120)
  const running = collect(pipe(items, remote<number, number>(queue, { connection: server.connection, concurrency: 8 })))
  // Kill A while it holds jobs: after it has started its 6th.
  let startedByA = 0
  await a.next((m) => m.started !== undefined && ++startedByA >= 6)
  await a.kill('SIGKILL')
  const result = right(await withTimeout(running, 20_000, 'the run after a SIGKILL'))
  assert.is(result.errors.length, 0)
  assert.equal(result.values.sort((x, y) => x - y), items.map((n) => n * 2))
  // At-least-once: A's unfinished jobs ran again on B, under the same key.
  const doneByA = new Set(a.messages.filter((m) => m.done !== undefined).map((m) => m.done))
  const lost = a.messages.filter((m) => m.started !== undefined && !doneByA.has(m.started)).map((m) => m.started)
  assert.ok(lost.length > 0, 'A was killed while holding jobs')
  const startedByB = new Set(b.messages.filter((m) => m.started !== undefined).map((m) => m.started))
  for (const key of lost) assert.ok(startedByB.has(key), `item ${String(key)} was handed on to B`)
  assert.equal(await runKeys(server, queue), [])
})

test('cancel from the pipeline side aborts a job running in another process within 1 s', async () => {
  const queue = queueName('xcancel')
  const child = startServing(server.port, queue, 'blocked', { concurrency: 2 })
  children.push(child)
  await child.ready
  const ac = new AbortController()
  const running = run(pipe(range(2), remote<number, number>(queue, { connection: server.connection, concurrency: 2 })), { signal: ac.signal })
  await child.next((m) => m.started !== undefined)
  await child.next((m) => m.started !== undefined && child.messages.filter((x) => x.started !== undefined).length === 2)
  const abortedAt = Date.now()
  ac.abort()
  const [first] = await Promise.all([child.next((m) => m.aborted !== undefined), running])
  const delay = (first.at as number) - abortedAt
  assert.ok(delay < 1_000, `the job saw its signal abort ${delay} ms after the cancel`)
  assert.is(leftOf(await running).kind, 'cancelled')
  assert.equal(await runKeys(server, queue), [])
})

test('Redis killed and restarted mid-run: the run waits, sends its jobs again, and every item comes back exactly once', async () => {
  const queue = queueName('restart')
  // Reconnect attempts every 100 ms (BullMQ's default backs off to 1 s, then 7 s, then 20 s: too coarse for a test's timing).
  const connection = { ...server.connection, retryStrategy: () => 100 }
  const handle = serve(queue, async (n: number) => (await new Promise((r) => setTimeout(r, 5)), n * 3), { connection, concurrency: 4 })
  handles.push(handle)
  await handle.ready()
  const items = range(200)
  let passed = 0
  let restarted: Promise<void> | undefined
  const running = collect(
    pipe(
      items,
      remote<number, number>(queue, { connection, concurrency: 6, reconnectMs: 15_000 }),
      // halfway through, take Redis away for a moment
      pool((n: number) => {
        if (++passed === 60) restarted = server.kill().then(() => new Promise((resolve) => setTimeout(resolve, 300))).then(() => server.restart())
        return n
      }),
    ),
  )
  const result = right(await withTimeout(running, 30_000, 'the run across a Redis restart'))
  await restarted
  assert.is(result.errors.length, 0)
  assert.equal(result.values.sort((x, y) => x - y), items.map((n) => n * 3))
})

test('Redis gone for good: the run fails with an `unavailable` PipelineError once reconnectMs has passed', async () => {
  const queue = queueName('gone')
  const child = startServing(server.port, queue, 'double', { concurrency: 2, delayMs: 5 })
  children.push(child)
  await child.ready
  let passed = 0
  let killedAt = 0
  const running = run(
    pipe(
      range(100),
      remote<number, number>(queue, { connection: server.connection, concurrency: 4, reconnectMs: 500 }),
      pool((n: number) => {
        if (++passed === 10) void server.kill().then(() => (killedAt = performance.now()))
        return n
      }),
    ),
  )
  const error = leftOf(await withTimeout(running, 10_000, 'the run without Redis'))
  const waited = performance.now() - killedAt
  assert.is(error.kind, 'unavailable')
  assert.match(error.message, /Redis \(queue "gone-.*"\) unreachable for \d+ ms \(reconnectMs: 500\)/)
  assert.ok(waited >= 400 && waited < 5_000, `failed ${waited} ms after Redis went away`)
  await server.restart()
})

test.run()
