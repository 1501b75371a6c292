import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, fork, pipe, pool, run, thread, ThreadError, TimeoutError, type StageError } from '../../src/index.js'
import { threadCounters, threadTunables } from '../../src/internal/thread-host.js'
import { assertNoLeaks, withTimeout } from '../_helpers.js'
import { until } from '../_wait.js'
import { baseline, leftOf, range, right } from './_util.js'
import type * as Fixture from '../fixtures/thread-faults.js'

const fixture = new URL('../fixtures/thread-faults.ts', import.meta.url)
const faults = <K extends keyof typeof Fixture>(name: K) =>
  thread<(typeof Fixture)[K] extends (...args: any[]) => any ? (typeof Fixture)[K] : never>(fixture, name)

async function noThreadsLeft(resources: string[], what: string): Promise<void> {
  await until(() => threadCounters.live === 0, `${what}: all threads end`, 5_000)
  await assertNoLeaks(resources, what)
}

const byItem = (errors: StageError[]): Map<unknown, unknown> => new Map(errors.map((e) => [e.item, e.cause]))

// --- timeouts and cancellation --------------------------------------------------------------------------

test('fork with a thread branch and a timeout: only the stuck item times out, its thread is replaced, the others succeed', async () => {
  const resources = await baseline()
  const spawned = threadCounters.spawned
  const result = right(
    await withTimeout(collect(pipe(range(10), fork([faults('loopsOn3'), (x: number) => x], ([a, b]) => a + b, { timeout: 100 }))), 20_000, 'collect'),
  )
  assert.equal(
    result.values.sort((a, b) => a - b),
    range(10)
      .filter((n) => n !== 3)
      .map((n) => 2 * n),
  )
  assert.is(result.errors.length, 1)
  assert.is(result.errors[0]!.item, 3)
  assert.ok(result.errors[0]!.cause instanceof TimeoutError)
  assert.is(threadCounters.spawned - spawned, 2, 'the stuck thread was replaced once')
  await noThreadsLeft(resources, 'after a stuck fork branch')
})

test('cancel while threads are still starting: the run resolves within 100 ms of the abort, and no thread is left', async () => {
  const resources = await baseline()
  const ac = new AbortController()
  // The module blocks its thread for seconds while it loads (it can't take a message meanwhile), and says when it starts.
  const channel = new BroadcastChannel('pipevine-slow-load')
  let loading = 0
  channel.onmessage = () => loading++
  const pending = run(pipe(range(10), pool(thread(new URL('../fixtures/thread-slow-load.ts', import.meta.url)), 2)), { signal: ac.signal })
  try {
    await until(() => loading === 2, 'both threads are loading the module', 20_000)
  } finally {
    channel.close()
  }
  // A grace period given to a thread that runs no item would show plainly: make it long.
  const grace = threadTunables.closeGraceMs
  threadTunables.closeGraceMs = 2_000
  let error, ms
  try {
    const aborted = performance.now()
    ac.abort()
    error = leftOf(await withTimeout(pending, 10_000, 'cancelled run'))
    ms = performance.now() - aborted
  } finally {
    threadTunables.closeGraceMs = grace
  }
  assert.is(error.kind, 'cancelled')
  assert.ok(ms < 100, `resolved ${Math.round(ms)} ms after the abort`)
  assert.is(threadCounters.live, 0, 'every thread has ended when the run resolves')
  await noThreadsLeft(resources, 'after cancelling starting threads')
})

test.run()
