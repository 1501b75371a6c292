import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isLeft, isRight, pipe, pool, retry, run } from '../../../src/index.js'
import { abortTimed, assertNoLeaks, baseline, deferred, drain, leftOf, range, right, stage, until, withTimeout } from '../../_helpers.js'
import { recorded } from './_recorded.js'

/** An error as a client would make it from a 429/503 with a `Retry-After`. */
const tooMany = (ms: unknown): Error => Object.assign(new Error('429 Too Many Requests'), { status: 429, retryAfterMs: ms })

for (const [kind, limits] of [
  ['an adaptive stage', { concurrency: { min: 1, max: 8, initial: 4 } }],
  ['a rate-limited stage', { concurrency: 4, rate: { perSecond: 1_000, burst: 10 } }],
] as const) {
  test(`retryAfterMs pauses new starts on ${kind} for that long, in-place retries included`, async () => {
    const { starts, failures, handler } = recorded((n, attempt) => (n === 0 && attempt === 1 ? tooMany(150) : undefined))
    const out = await drain(pipe(range(30), pool(handler, { ...limits, retries: 1 })))
    assert.is(out.filter(isRight).length, 30)
    const failedAt = failures[0]!
    const during = starts.filter((s) => s.t > failedAt && s.t < failedAt + 149)
    assert.is(during.length, 0, `no start in the 150 ms after the 429 (${during.length} did)`)
    const retried = starts.find((s) => s.n === 0 && s.attempt === 2)!
    assert.ok(retried.t >= failedAt + 149, `the item's in-place retry waited ${(retried.t - failedAt).toFixed(0)} ms`)
    assert.ok(starts.some((s) => s.t >= failedAt + 149 && s.n !== 0), 'the others went on after the pause')
  })
}

test('retryAfterMs feeds the adaptive limit: overload answers bring it down', async () => {
  const { handler } = recorded(() => tooMany(1))
  const report = right(await run(pipe(range(400), pool(handler, { name: 'api', concurrency: { min: 1, max: 64, initial: 32 } }))))
  const s = stage(report, 'api')
  assert.is(s.failed, 400)
  assert.ok(s.concurrency <= 16, `the limit fell from 32 (now ${s.concurrency})`)
  // A failure that says nothing about load (no retryAfterMs, no 429/503) leaves the limit alone.
  const plain = recorded(() => new Error('bad record'))
  const report2 = right(await run(pipe(range(400), pool(plain.handler, { name: 'api', concurrency: { min: 1, max: 64, initial: 32 } }))))
  assert.is(stage(report2, 'api').concurrency, 32)
})

test("retryAfterMs sets a downstream retry's next delay for that item to at least that long (any stage, also a fixed one)", async () => {
  const { starts, failures, handler } = recorded((n, attempt) => (attempt === 1 && n < 2 ? tooMany(120) : undefined))
  const out = await drain(pipe(range(4), pool(handler, { concurrency: 2 }), retry({ retries: 1, backoff: 'linear', baseMs: 10 })))
  assert.is(out.filter(isRight).length, 4)
  for (const n of [0, 1]) {
    const replay = starts.find((s) => s.n === n && s.attempt === 2)!
    const waited = replay.t - failures[n]!
    assert.ok(waited >= 119, `item ${n}: replayed ${waited.toFixed(0)} ms after its 429 (backoff alone: 10 ms)`)
  }
  // Without a retryAfterMs the backoff alone decides.
  const quick = recorded((n, attempt) => (attempt === 1 && n === 0 ? new Error('flaky') : undefined))
  await drain(pipe(range(1), pool(quick.handler, { concurrency: 2 }), retry({ retries: 1, backoff: 'linear', baseMs: 10 })))
  const gap = quick.starts[1]!.t - quick.failures[0]!
  assert.ok(gap < 100, `no retryAfterMs: the 10 ms backoff (${gap.toFixed(0)} ms)`)
})

test('cancel during a retryAfterMs pause resolves within 100 ms, starts nothing more, and leaves no timer', async () => {
  const before = await baseline()
  const failed = deferred()
  const { starts, handler } = recorded((n) => (n === 0 ? (failed.resolve(), tooMany(10_000)) : undefined))
  const ac = new AbortController()
  const pending = run(pipe(range(50), pool(handler, { name: 'api', concurrency: { min: 1, max: 4, initial: 1 } })), { signal: ac.signal })
  await failed.promise
  await until(() => starts.length >= 1, 'the failing start')
  await new Promise((resolve) => setTimeout(resolve, 20))
  const startedBefore = starts.length
  const { result, ms } = await abortTimed(ac, pending)
  assert.ok(ms < 100, `resolved ${ms.toFixed(1)} ms after the abort`)
  assert.is(leftOf(result).kind, 'cancelled')
  assert.is(starts.length, startedBefore, 'nothing started after the abort')
  await assertNoLeaks(before, 'timers after the cancelled pause')
})

test('hostile retryAfterMs values (NaN, negative, Infinity, a string, a throwing getter) are no signal, and no crash', async () => {
  const hostile = [NaN, -5, Infinity, '100', undefined]
  const getterThrows = Object.defineProperty(new Error('odd'), 'retryAfterMs', {
    get() {
      throw new Error('getter')
    },
  })
  const errors = [...hostile.map((v) => tooMany(v)), getterThrows, null, 42]
  const { starts, handler } = recorded((n) => errors[n])
  const t0 = performance.now()
  const out = await drain(pipe(range(errors.length), pool(handler, { concurrency: { min: 1, max: 2, initial: 2 } }), retry({ retries: 1, backoff: 'none' })))
  assert.is(out.length, errors.length)
  assert.ok(out.every(isLeft), 'each item failed twice and is a Left')
  assert.is(starts.length, 2 * errors.length)
  assert.ok(performance.now() - t0 < 1_000, 'no pause was taken')
})

test.run()
