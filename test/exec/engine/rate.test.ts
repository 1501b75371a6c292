import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isRight, pipe, pool, fork, mix, retry, run } from '../../../src/index.js'
import { abortTimed, assertNoLeaks, baseline, counting, deferred, drain, leftOf, range, right, stage, until, withTimeout } from '../../_helpers.js'

/** A handler that records when each attempt started (ms), and fails attempts `failUntil` allows. */
function starts(failUntil = 0, workMs = 1) {
  const at: number[] = []
  const handler = async (n: number, ctx: { attempt: number }): Promise<number> => {
    at.push(performance.now())
    await new Promise((resolve) => setTimeout(resolve, workMs))
    if (ctx.attempt <= failUntil) throw new Error(`attempt ${ctx.attempt} of ${n}`)
    return n
  }
  return { at, handler }
}

/** The most starts in any window of `windowMs` (each window opening at a start). */
function maxInWindow(at: number[], windowMs: number): number {
  const sorted = at.slice().sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

/**
 * The starts `at` took as long as `perSecond` allows for all of them (burst 1): the first at
 * once, each other one a token later. (A late timer may let two start closer together; the
 * bucket makes up for it, so the span is what counts.)
 */
function assertSpacedAtRate(at: number[], perSecond: number): void {
  const spanMs = Math.max(...at) - Math.min(...at)
  const expected = ((at.length - 1) * 1_000) / perSecond
  assert.ok(spanMs >= expected * 0.95, `${at.length} starts over ${spanMs.toFixed(0)} ms (at ${perSecond}/s: ${expected} ms)`)
  assert.ok(maxInWindow(at, 1_000 / perSecond) <= 2, 'never more than two in one token interval')
}

test('rate: no 1-second window sees more than perSecond + burst starts, and with work waiting the achieved rate is >= 97% of perSecond (2 s run)', async () => {
  const perSecond = 40
  const burst = 5
  const { at, handler } = starts()
  const n = 2 * perSecond + burst
  const out = await drain(pipe(range(n), pool(handler, { concurrency: 8, rate: { perSecond, burst } })))
  assert.is(out.filter(isRight).length, n)
  assert.ok(maxInWindow(at, 1_000) <= perSecond + burst, `at most ${perSecond + burst} starts in a second (${maxInWindow(at, 1_000)})`)
  // The burst goes at once; the rest come at the rate: (n - burst) starts after the first, over the time they took.
  const spanMs = Math.max(...at) - Math.min(...at)
  const achieved = ((n - burst) / spanMs) * 1_000
  assert.ok(achieved >= 0.97 * perSecond, `achieved ${achieved.toFixed(2)}/s of ${perSecond}/s`)
  assert.ok(achieved <= perSecond * 1.01 + 1, `not faster than the rate (${achieved.toFixed(2)}/s)`)
})

test('rate: a fractional rate (perSecond: 0.5) starts one attempt every 2 s', async () => {
  const { at, handler } = starts()
  await drain(pipe(range(2), pool(handler, { concurrency: 2, rate: { perSecond: 0.5 } })))
  const gap = at[1]! - at[0]!
  assert.ok(gap >= 1_990 && gap < 2_700, `second start ${gap.toFixed(0)} ms after the first`)
})

test('rate: in-place retries are counted: every attempt takes a token', async () => {
  const { at, handler } = starts(2)
  const out = await drain(pipe(range(4), pool(handler, { concurrency: 4, retries: 2, rate: { perSecond: 50 } })))
  assert.is(out.filter(isRight).length, 4)
  assert.is(at.length, 12, 'three attempts per item')
  // 12 tokens at 50/s after the first: 220 ms (without the retries counted, 4 tokens: 60 ms).
  assertSpacedAtRate(at, 50)
})

test('rate: replays from a downstream retry are counted too', async () => {
  const { at, handler } = starts(1)
  const out = await drain(pipe(range(4), pool(handler, { concurrency: 4, rate: { perSecond: 50 } }), retry({ retries: 1, backoff: 'none' })))
  assert.is(out.filter(isRight).length, 4)
  assert.is(at.length, 8, 'a first attempt and a replay per item')
  assertSpacedAtRate(at, 50)
})

test('rate: mix and fork start attempts at the rate (fork: every branch attempt)', async () => {
  const a = starts()
  const b = starts()
  await drain(pipe(range(4), mix([a.handler, b.handler], { rate: { perSecond: 50 } })))
  assert.is(a.at.length + b.at.length, 4)
  assertSpacedAtRate([...a.at, ...b.at], 50)
  const c = starts()
  const d = starts()
  await drain(pipe(range(2), fork([c.handler, d.handler], ([x]) => x, { concurrency: 2, rate: { perSecond: 50 } })))
  assert.is(c.at.length + d.at.length, 4)
  assertSpacedAtRate([...c.at, ...d.at], 50)
})

test('rate: items waiting for a token stay within the stage bounds (buffer + concurrency)', async () => {
  const { source, pulled } = counting(100)
  const { at, handler } = starts()
  const ac = new AbortController()
  const pending = run(pipe(source, pool(handler, { concurrency: 4, buffer: 2, rate: { perSecond: 1 }, name: 'slow' })), { signal: ac.signal })
  await until(() => at.length === 1, 'the first start')
  await until(() => pulled() >= 4 + 2, 'the stage filled')
  await new Promise((resolve) => setImmediate(resolve))
  assert.ok(pulled() <= 4 + 2 + 1 + 1, `pulled ${pulled()}: buffer + workers (+ the one in hand)`)
  assert.is(at.length, 1, 'one start in the first second')
  ac.abort()
  await withTimeout(pending, 2_000, 'the cancelled run')
})

test('rate: cancel during a token wait resolves within 100 ms, starts nothing more, and leaves no timer', async () => {
  const before = await baseline()
  const { at, handler } = starts()
  const first = deferred()
  const ac = new AbortController()
  const pending = run(pipe(range(20), pool(async (n: number, ctx: { attempt: number }) => (first.resolve(), handler(n, ctx)), { concurrency: 4, rate: { perSecond: 0.2 }, name: 'api' })), { signal: ac.signal })
  await first.promise
  await until(() => at.length === 1, 'the first start')
  const { result, ms } = await abortTimed(ac, pending)
  assert.ok(ms < 100, `resolved ${ms.toFixed(1)} ms after the abort`)
  assert.is(leftOf(result).kind, 'cancelled')
  assert.is(at.length, 1, 'nothing started after the abort')
  await assertNoLeaks(before, 'timers after the cancelled token wait')
})

test('rate: the report shows the fixed concurrency of a rate-limited stage', async () => {
  const report = right(await run(pipe(range(3), pool(async (n: number) => n, { concurrency: 3, rate: { perSecond: 1_000, burst: 3 }, name: 'r' }))))
  assert.is(stage(report, 'r').concurrency, 3)
  assert.is(stage(report, 'r').processed, 3)
})

test.run()
