// threadPool's lifetime (issue 13 points 1 and 3): threads that start once and serve run after run,
// ready(), close() graceful and forced, use after close, idleTimeoutMs, and an idle pool that lets the process exit.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { collect, isLeft, mix, pipe, pool, threadPool, ThreadError, type StageError } from '../../../src/index.js'
import { threadCounters } from '../../../src/exec/thread/thread-host.js'
import { baseline, assertNoLeaks, range, right, until, withTimeout } from '../../_helpers.js'
import type * as Fixture from '../../fixtures/thread-pool.js'

const fixture = new URL('../../fixtures/thread-pool.ts', import.meta.url)
const expected = (n: number): number => {
  let x = 0
  for (let i = 0; i < n; i++) x += Math.sqrt(i)
  return Math.round(x)
}
const causeOf = (error: StageError): unknown => error.errors[error.errors.length - 1]

test('a pool serves run after run with the same threads: init runs once per thread, ctx.state lasts, dispose runs at close', async () => {
  const resources = await baseline()
  const spawned = threadCounters.spawned
  const inits: number[] = []
  const disposed: unknown[] = []
  const hasher = threadPool<typeof Fixture.whoami>(fixture, 'whoami', {
    threads: 2,
    init: (ctx) => {
      inits.push(ctx.worker)
      return { seed: `thread ${ctx.worker}` }
    },
    dispose: (state) => void disposed.push(state.get('seed')),
  })
  const threadIds = new Set<number>()
  let seenMost = 0
  for (let r = 0; r < 3; r++) {
    const { values, errors } = right(await collect(pipe(range(60), pool(hasher, 2)), { env: { tag: `run ${r}` } }))
    assert.is(errors.length, 0, `run ${r}: no failures`)
    assert.is(values.length, 60, `run ${r}: every item`)
    for (const v of values) {
      threadIds.add(v.threadId)
      seenMost = Math.max(seenMost, v.seen)
      assert.is(v.tag, `run ${r}`, 'the thread sees the env of the run the item belongs to')
      assert.ok(v.seed === 'thread 0' || v.seed === 'thread 1', `ctx.state is seeded by the pool's init: ${String(v.seed)}`)
    }
  }
  assert.equal(inits.sort(), [0, 1], 'init ran once per thread over three runs')
  assert.is(threadCounters.spawned - spawned, 2, 'two threads started, for all three runs')
  assert.is(threadIds.size, 2, 'the same two threads served every run')
  assert.ok(seenMost > 60, `a thread's ctx.state counted items across runs (most: ${seenMost})`)
  assert.is(threadCounters.live, 2, 'the threads are still up between runs')
  await hasher.close()
  assert.equal(disposed.sort(), ['thread 0', 'thread 1'], 'dispose ran once per thread, with its state')
  await until(() => threadCounters.live === 0, 'every thread ends at close', 5_000)
  await assertNoLeaks(resources, 'after close')
})

test('ready() starts every thread before the first item and the work is then done on them, with results right', async () => {
  const hasher = threadPool(fixture, { threads: 2 })
  const spawned = threadCounters.spawned
  await withTimeout(hasher.ready(), 10_000, 'ready()')
  assert.is(threadCounters.spawned - spawned, 2, 'both threads started by ready()')
  const items = range(200).map((i) => 1_000 + i * 10)
  const { values } = right(await collect(pipe(items, pool(hasher, { concurrency: 2, ordered: true }))))
  assert.equal(values, items.map(expected))
  assert.is(threadCounters.spawned - spawned, 2, 'no other thread started')
  await hasher.close()
})

test('close() lets the items in flight finish; items given after it fail with a ThreadError (closed)', async () => {
  const hasher = threadPool(fixture, { threads: 2 })
  await hasher.ready()
  let closing: Promise<void> | undefined
  let closedAt = 0
  const flow = pipe(range(400).map(() => 20_000), pool(hasher, 2))
  const seen: boolean[] = []
  for await (const r of flow) {
    seen.push(!isLeft(r))
    if (seen.length === 5) closing = hasher.close().then(() => void (closedAt = seen.length))
  }
  await closing
  const ok = seen.filter(Boolean).length
  assert.is(seen.length, 400, 'every item left the stage once')
  assert.ok(ok > 5, `the items in flight when close() was called finished after it (${ok} ok)`)
  assert.ok(ok < 400, 'items given after close() failed')
  assert.ok(closedAt > seen.lastIndexOf(true), `close() resolved only after the last item in flight had finished (at ${closedAt}, last ok at ${seen.lastIndexOf(true)})`)
  await until(() => threadCounters.live === 0, 'threads end after close', 5_000)
})

test('close({ force: true }) fails the items in flight at once and aborts their signals in the threads', async () => {
  const hasher = threadPool<typeof Fixture.untilAborted>(fixture, 'untilAborted', { threads: 2 })
  const env = { aborts: new Int32Array(new SharedArrayBuffer(4)), started: new Int32Array(new SharedArrayBuffer(4)) }
  const running = collect(pipe(range(4), pool(hasher, 4)), { env })
  await until(() => Atomics.load(env.started, 0) >= 2, 'both threads run an item', 10_000)
  const started = performance.now()
  await withTimeout(hasher.close({ force: true }), 2_000, 'a forced close')
  const { values, errors } = right(await withTimeout(running, 2_000, 'the run after a forced close'))
  assert.ok(performance.now() - started < 1_000, 'forced close is prompt')
  assert.is(values.length, 0)
  assert.is(errors.length, 4, 'every item failed, none lost')
  for (const error of errors) {
    const cause = causeOf(error)
    assert.ok(cause instanceof ThreadError && cause.reason === 'closed', `a ThreadError (closed): ${String(cause)}`)
  }
  assert.ok(Atomics.load(env.aborts, 0) >= 1, 'the items running in the threads saw their signal abort')
  await until(() => threadCounters.live === 0, 'threads end', 5_000)
})

test('a closed pool fails each item with a ThreadError saying so, at once, in pool and mix', async () => {
  const hasher = threadPool(fixture, { threads: 1 })
  await hasher.close()
  await hasher.close() // twice is fine
  const spawned = threadCounters.spawned
  const started = performance.now()
  const viaPool = right(await withTimeout(collect(pipe(range(5), pool(hasher, 2))), 2_000, 'a run on a closed pool'))
  const viaMix = right(await withTimeout(collect(pipe(range(3), mix([hasher, (n: number) => n]))), 2_000, 'a mix on a closed pool'))
  assert.ok(performance.now() - started < 1_000, 'no hang, no retry backoff')
  assert.is(viaPool.errors.length, 5, 'each item fails')
  const cause = causeOf(viaPool.errors[0]!)
  assert.ok(cause instanceof ThreadError && cause.reason === 'closed', 'reason closed')
  assert.match((cause as Error).message, /is closed/)
  assert.is(viaMix.values.length + viaMix.errors.length, 3, 'mix: every item accounted for')
  assert.is(threadCounters.spawned, spawned, 'no thread started')
  await assert.not.throws(async () => hasher[Symbol.asyncDispose]())
  let rejected: unknown
  await hasher.ready().catch((error: unknown) => (rejected = error))
  assert.ok(rejected instanceof ThreadError && rejected.reason === 'closed', 'ready() on a closed pool rejects')
})

test('idleTimeoutMs: idle threads end, and start again when an item comes', async () => {
  const hasher = threadPool(fixture, { threads: 2, idleTimeoutMs: 80 })
  const live = threadCounters.live
  right(await collect(pipe(range(20).map(() => 3_000), pool(hasher, 2))))
  await until(() => threadCounters.live === live, 'the idle threads end', 5_000)
  const spawned = threadCounters.spawned
  const { values } = right(await collect(pipe([2_000], pool(hasher, 1))))
  assert.equal(values, [expected(2_000)], 'the pool works again')
  assert.ok(threadCounters.spawned > spawned, 'a thread started on demand')
  await hasher.close()
})

test('a program that leaves a pool open (idle, never closed) still exits', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../fixtures/thread-pool-open.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const code = await withTimeout(new Promise<number | null>((resolve) => child.on('exit', resolve)), 20_000, 'the child exits').catch((error: unknown) => {
    child.kill('SIGKILL')
    throw error
  })
  assert.is(code, 0, output)
  assert.match(output, /ran 2 runs on 2 warm threads/)
})

test('threadPool checks its options at once', () => {
  assert.throws(() => threadPool(fixture, { threads: 0 }), /threadPool.*threads/)
  assert.throws(() => threadPool(fixture, { idleTimeoutMs: -1 }), /threadPool.*idleTimeoutMs/)
  assert.throws(() => threadPool(fixture, { execArgv: [1 as unknown as string] }), /threadPool.*execArgv/)
  assert.throws(() => threadPool(fixture, { init: 'x' as never }), /threadPool.*init/)
  assert.throws(() => threadPool(fixture, { nope: 1 } as never), /threadPool.*unknown option `nope`/)
  assert.throws(() => (threadPool(fixture) as unknown as () => void)(), /runs inside pool, mix or fork/)
})

test.run()
