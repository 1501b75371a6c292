// Several runs on one threadPool at once (issue 13 point 2): fair shares, and ending one run ends only its items.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, fork, isRight, pipe, pool, provide, threadPool, TimeoutError } from '../../../src/index.js'
import { threadCounters, threadTunables } from '../../../src/exec/thread/thread-host.js'
import { leftOf, range, right, until, withTimeout } from '../../_helpers.js'
import type * as Fixture from '../../fixtures/thread-pool.js'

const fixture = new URL('../../fixtures/thread-pool.ts', import.meta.url)
const counters = () => ({ aborts: new Int32Array(new SharedArrayBuffer(4)), started: new Int32Array(new SharedArrayBuffer(4)) })

test('two runs at once on one pool share its threads: each progresses while the other runs, and both get every result', async () => {
  const hasher = threadPool<typeof Fixture.default>(fixture, { threads: 2 })
  await hasher.ready()
  const spawned = threadCounters.spawned
  const done = { a: 0, b: 0 }
  let bAtAEnd = -1
  let aAtBEnd = -1
  const runOne = async (name: 'a' | 'b'): Promise<number> => {
    let ok = 0
    for await (const r of pipe(range(300).map(() => 150_000), pool(hasher, 2))) {
      if (isRight(r)) ok++
      done[name]++
    }
    if (name === 'a' && aAtBEnd < 0) bAtAEnd = done.b
    if (name === 'b' && bAtAEnd < 0) aAtBEnd = done.a
    return ok
  }
  const [a, b] = await withTimeout(Promise.all([runOne('a'), runOne('b')]), 60_000, 'two runs')
  assert.is(a, 300, 'run a: every item')
  assert.is(b, 300, 'run b: every item')
  // Whichever ended first, the other had done most of its items by then (one queue served strictly first would leave it at 0).
  const other = bAtAEnd >= 0 ? bAtAEnd : aAtBEnd
  assert.ok(other >= 180, `fair shares: when one run ended, the other had ${other} of 300 done`)
  assert.is(threadCounters.spawned, spawned, 'the pool\'s threads served both')
  await hasher.close()
})

test("a stage's concurrency bounds its items in flight, the pool's threads bound the threads: pool(hasher, 8) on a 2-thread pool runs on 2", async () => {
  const hasher = threadPool<typeof Fixture.whoami>(fixture, 'whoami', { threads: 2 })
  const spawned = threadCounters.spawned
  let count = 0
  const threadIds = new Set<number>()
  for await (const r of pipe(range(200), pool(hasher, 8))) {
    if (isRight(r)) {
      count++
      threadIds.add(r.right.threadId)
    }
  }
  assert.is(count, 200)
  assert.is(threadCounters.spawned - spawned, 2, 'two threads started for eight workers')
  assert.is(threadIds.size, 2)
  await hasher.close()
})

test('cancelling one run aborts only its items; the other run finishes on the same threads', async () => {
  const pooled = threadPool<typeof Fixture.task>(fixture, 'task', { threads: 2 })
  await pooled.ready()
  const spawned = threadCounters.spawned
  const env = counters()
  const cancel = new AbortController()
  const waiting = collect(pipe(range(4).map(() => ({ wait: true })), pool(pooled, 2)), { env, signal: cancel.signal })
  const working = collect(pipe(range(50).map((i) => ({ n: 10_000 + i })), pool(pooled, 2)), { env: counters() })
  await until(() => Atomics.load(env.started, 0) >= 2, 'the waiting run holds both threads', 10_000)
  cancel.abort(new Error('the client went away'))
  assert.is(leftOf(await withTimeout(waiting, 2_000, 'the cancelled run')).kind, 'cancelled')
  const other = right(await withTimeout(working, 10_000, 'the other run'))
  assert.is(other.values.length, 50, 'the other run got every result')
  await until(() => Atomics.load(env.aborts, 0) === Atomics.load(env.started, 0), 'each item of the cancelled run that started saw its signal abort', 2_000)
  assert.is(threadCounters.spawned, spawned, 'no thread was replaced or restarted')
  assert.is(threadCounters.live >= 2, true, 'the threads are still up')
  await pooled.close()
})

test('breaking out of one run aborts its items in the threads; the pool goes on serving runs on the same threads', async () => {
  const pooled = threadPool<typeof Fixture.task>(fixture, 'task', { threads: 2 })
  await pooled.ready()
  const spawned = threadCounters.spawned
  const env = counters()
  const items = [{ n: 1_000 }, ...range(4).map(() => ({ wait: true }))]
  let taken = 0
  for await (const r of pipe(items, pool(pooled, 4), provide(env))) {
    taken++
    if (!isRight(r)) continue
    await until(() => Atomics.load(env.started, 0) > 0, 'a waiting item runs in the other thread', 5_000)
    break
  }
  assert.is(taken, 1)
  await until(() => Atomics.load(env.aborts, 0) === Atomics.load(env.started, 0), 'the items left in the threads saw their signal abort', 5_000)
  const next = right(await withTimeout(collect(pipe([{ n: 2_000 }, { n: 3_000 }], pool(pooled, 2)), { env: counters() }), 5_000, 'the next run'))
  assert.is(next.values.length, 2)
  assert.is(threadCounters.spawned, spawned, 'the same threads')
  await pooled.close()
})

test("a stage's timeout applies to its own items on a shared thread, and the other run sharing it loses nothing", async () => {
  const saved = threadTunables.stuckGraceMs
  threadTunables.stuckGraceMs = 50
  try {
    const pooled = threadPool<typeof Fixture.task>(fixture, 'task', { threads: 1 })
    await pooled.ready()
    const slow = collect(pipe([{ wait: true }], pool(pooled, { concurrency: 1, timeout: 100 })), { env: counters() })
    const fine = collect(pipe(range(20).map((i) => ({ n: 1_000 + i })), pool(pooled, 1)), { env: counters() })
    const timedOut = right(await withTimeout(slow, 5_000, 'the run with a timeout'))
    assert.is(timedOut.errors.length, 1)
    assert.ok(timedOut.errors[0]!.errors[0] instanceof TimeoutError, 'the item timed out')
    const other = right(await withTimeout(fine, 10_000, 'the run without one'))
    assert.is(other.values.length, 20, 'the other run got every result')
    await pooled.close()
  } finally {
    threadTunables.stuckGraceMs = saved
  }
})

test('a crash in a shared thread fails only the item that was running; both runs get every other result from the replacement', async () => {
  const pooled = threadPool<typeof Fixture.crashOn13>(fixture, 'crashOn13', { threads: 1 })
  await pooled.ready()
  const [a, b] = await withTimeout(
    Promise.all([collect(pipe(range(40), pool(pooled, 1))), collect(pipe(range(40).map((i) => 100 + i), pool(pooled, 1)))]),
    20_000,
    'two runs',
  )
  const runA = right(a)
  const runB = right(b)
  assert.is(runA.errors.length, 1, 'run a: only item 13 failed')
  assert.is(runA.errors[0]!.item, 13)
  assert.match(String(runA.errors[0]!.errors[0]), /crashed|exited/)
  assert.is(runA.values.length, 39)
  assert.is(runB.values.length, 40, 'run b lost nothing')
  await pooled.close()
})

test("the pool's init failing fails every item with that error, and ready() rejects with it", async () => {
  const pooled = threadPool(fixture, {
    threads: 2,
    init: async () => {
      throw new Error('no licence key')
    },
  })
  const spawned = threadCounters.spawned
  let rejected: unknown
  await pooled.ready().catch((error: unknown) => (rejected = error))
  assert.match(String((rejected as Error)?.message), /init failed: no licence key/)
  const { errors } = right(await withTimeout(collect(pipe([1, 2, 3], pool(pooled, 2))), 2_000, 'the run'))
  assert.is(errors.length, 3)
  assert.match(String((errors[0]!.errors[0] as Error).message), /no licence key/)
  assert.is(threadCounters.spawned, spawned, 'no thread started')
  await pooled.close()
})

test('a pool works as a fork branch, next to a plain handler', async () => {
  const hasher = threadPool<typeof Fixture.default>(fixture, { threads: 1 })
  const { values } = right(await collect(pipe([1_000, 2_000], fork([hasher, (n: number) => n], ([h, n]) => ({ h, n }), { ordered: true }))))
  assert.equal(values.map((v) => v.n), [1_000, 2_000])
  assert.ok(values.every((v) => typeof v.h === 'number' && v.h > 0))
  await hasher.close()
})

test.run()
