import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isRight, pipe, pool, retry, run } from '../../../src/index.js'
import { assertNoLeaks, baseline, deferred, drain, leftOf, range, right, stage, until, withTimeout } from '../../_helpers.js'
import { recorded } from './_recorded.js'

test('a plain pool stage pauses new starts for an error’s retryAfterMs, then resumes, every item accounted for', async () => {
  const { starts, failures, handler } = recorded((n, attempt) => (n === 3 && attempt === 1 ? { retryAfterMs: 200 } : undefined))
  const report = right(await run(pipe(range(40), pool(handler, { name: 'plain', concurrency: 4, retries: 1 }))))
  const s = stage(report, 'plain')
  assert.is(s.processed, 40, 'every item succeeded (the failed one on its in-place retry)')
  assert.is(s.failed, 0)
  assert.is(starts.length, 41)
  const failedAt = failures[0]!
  const during = starts.filter((x) => x.t > failedAt && x.t < failedAt + 199)
  assert.is(during.length, 0, `no start in the 200 ms after the error (${during.length} did)`)
  const retried = starts.find((x) => x.n === 3 && x.attempt === 2)!
  assert.ok(retried.t >= failedAt + 199, `the in-place retry waited ${(retried.t - failedAt).toFixed(0)} ms`)
  assert.ok(starts.some((x) => x.t >= failedAt + 199 && x.n !== 3), 'the others went on after the pause')
  assert.is(s.concurrency, 4, 'the reported concurrency stays the configured one')
})

test('a plain pool stage: attempts running when the pause begins end without upsetting it (the limit still holds after)', async () => {
  let now = 0
  let max = 0
  const handler = async (n: number, ctx: { attempt: number }): Promise<number> => {
    max = Math.max(max, ++now)
    await new Promise((resolve) => setTimeout(resolve, n === 0 ? 1 : 20))
    now--
    if (n === 0 && ctx.attempt === 1) throw { retryAfterMs: 30 }
    return n
  }
  const out = await drain(pipe(range(60), pool(handler, { concurrency: 3, retries: 1 })))
  assert.is(out.filter(isRight).length, 60)
  assert.ok(max <= 3, `at most 3 at once (saw ${max})`)
})

test('a plain pool stage: cancel during a retryAfterMs pause resolves within 100 ms and starts nothing more', async () => {
  const before = await baseline()
  const failed = deferred()
  const { starts, handler } = recorded((n) => (n === 0 ? (failed.resolve(), { retryAfterMs: 10_000 }) : undefined))
  const ac = new AbortController()
  const pending = run(pipe(range(50), pool(handler, { name: 'plain', concurrency: 1 })), { signal: ac.signal })
  await failed.promise
  await until(() => starts.length >= 1, 'the failing start')
  const startedBefore = starts.length
  const t0 = performance.now()
  ac.abort()
  const result = await withTimeout(pending, 2_000, 'cancelled run')
  assert.ok(performance.now() - t0 < 100, `resolved in ${(performance.now() - t0).toFixed(0)} ms`)
  assert.is(leftOf(result).kind, 'cancelled')
  assert.is(starts.length, startedBefore, 'nothing started after the cancel')
  await assertNoLeaks(before, 'timers after the cancel')
})

test('a plain stage: a downstream retry of the item still waits at least retryAfterMs', async () => {
  const { starts, failures, handler } = recorded((n, attempt) => (attempt === 1 && n === 0 ? { retryAfterMs: 120 } : undefined))
  const out = await drain(pipe(range(4), pool(handler, { concurrency: 2 }), retry({ retries: 1, backoff: 'linear', baseMs: 10 })))
  assert.is(out.filter(isRight).length, 4)
  const replay = starts.find((x) => x.n === 0 && x.attempt === 2)!
  assert.ok(replay.t - failures[0]! >= 119, `replayed ${(replay.t - failures[0]!).toFixed(0)} ms after the error`)
})

test.run()
