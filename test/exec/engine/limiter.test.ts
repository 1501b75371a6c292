import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fork, isRight, kill, mix, pipe, pool, retry, run, thread, TimeoutError, type Either } from '../../../src/index.js'
import { ATTEMPT_CANCELLED, ATTEMPT_FAILED, ATTEMPT_OK, ATTEMPT_TIMEOUT } from '../../../src/exec/engine/limiter.js'
import { abortTimed, counting, deferred, drain, idle, leftOf, range, right, stage, until, withTimeout } from '../../_helpers.js'
import { limited, testLimiter } from './_test-limiter.js'

const count = (outcomes: number[], outcome: number): number => outcomes.filter((o) => o === outcome).length

/** An async handler that records how many of its calls run at once. */
function tracked<T>(body: (item: T, attempt: number) => unknown = (item) => item) {
  const calls = { now: 0, max: 0, total: 0 }
  const handler = async (item: T, ctx: { attempt: number }): Promise<unknown> => {
    calls.now++
    calls.total++
    calls.max = Math.max(calls.max, calls.now)
    try {
      await new Promise((resolve) => setTimeout(resolve, 1))
      return body(item, ctx.attempt)
    } finally {
      calls.now--
    }
  }
  return { handler, calls }
}

test('pool: a limiter admitting 2 attempts at once holds a concurrency-8 pool to 2, hears every outcome, and its limit is the reported concurrency', async () => {
  const lim = testLimiter(2)
  const { handler, calls } = tracked<number>()
  const result = await run(pipe(range(40), pool(handler, { concurrency: 8, name: 'limited', ...limited(lim.factory) })))
  const report = right(result)
  const s = stage(report, 'limited')
  assert.is(calls.max, 2, 'never more than 2 handler calls at once')
  assert.is(lim.seen.made, 1, 'one limiter for the stage')
  assert.is(lim.seen.acquired, 40, 'every attempt asked')
  assert.is(count(lim.seen.outcomes, ATTEMPT_OK), 40, 'every attempt reported ok')
  assert.ok(Math.min(...lim.seen.latencies) > 0, 'latency measured from admission to outcome')
  assert.is(s.processed, 40)
  assert.is(s.concurrency, 2, "the limiter's limit is shown")
  assert.is(lim.seen.closedCalls, 1, 'closed when the stage ends')
  const plain = right(await run(pipe(range(3), pool(async (n: number) => n, { concurrency: 8, name: 'plain' }))))
  assert.is(stage(plain, 'plain').concurrency, 8, 'without a limiter: the configured concurrency')
  const retried = right(await run(pipe(range(3), pool(async (n: number) => n, 2), retry({ concurrency: 5, name: 'again' }))))
  assert.is(stage(retried, 'again').concurrency, 5, "a retry stage: its own concurrency")
})

test('pool: every in-place retry is admitted, and the limiter hears each failure with its error', async () => {
  const lim = testLimiter(3)
  const { handler, calls } = tracked<number>((n, attempt) => {
    if (attempt < 3) throw new Error(`attempt ${attempt} of ${n}`)
    return n
  })
  const out = await drain(pipe(range(20), pool(handler, { concurrency: 6, retries: 2, ...limited(lim.factory) })))
  assert.is(out.filter(isRight).length, 20)
  assert.is(calls.total, 60)
  assert.ok(calls.max <= 3, `at most 3 at once (${calls.max})`)
  assert.is(lim.seen.acquired, 60, 'three attempts per item, each admitted')
  assert.is(count(lim.seen.outcomes, ATTEMPT_FAILED), 40)
  assert.is(count(lim.seen.outcomes, ATTEMPT_OK), 20)
  assert.ok(lim.seen.errors.every((e) => e instanceof Error && /attempt [12] of/.test(e.message)), 'each failure hands over its error')
})

test('pool: a replay from a downstream retry is admitted like a first attempt', async () => {
  const lim = testLimiter(2)
  const { handler, calls } = tracked<number>((n, attempt) => {
    if (attempt === 1) throw new Error(`first of ${n}`)
    return n * 10
  })
  const out = await drain(pipe(range(15), pool(handler, { concurrency: 4, ...limited(lim.factory) }), retry({ retries: 1, backoff: 'none' })))
  assert.equal(out.filter(isRight).map((r) => r.right as number).sort((a, b) => a - b), range(15).map((n) => n * 10))
  assert.is(lim.seen.acquired, 30, 'first attempts and replays')
  assert.ok(calls.max <= 2, `at most 2 at once (${calls.max})`)
  assert.is(count(lim.seen.outcomes, ATTEMPT_FAILED), 15)
  assert.is(count(lim.seen.outcomes, ATTEMPT_OK), 15)
})

test('pool: replays that come after the stage ended, behind a retry backoff, are admitted before the limiter is closed', async () => {
  const lim = testLimiter(2)
  const out = await drain(
    pipe(
      range(6),
      pool((n: number, { attempt }) => (attempt === 1 && n % 2 === 0 ? Promise.reject(new Error(`even ${n}`)) : n), { concurrency: 2, ...limited(lim.factory) }),
      retry({ retries: 1, backoff: 'linear', baseMs: 30 }),
    ),
  )
  assert.is(out.filter(isRight).length, 6)
  assert.is(lim.seen.acquired, 9)
  assert.is(lim.seen.closedCalls, 1, 'closed once, after the last replay')
})

test('pool: a timed-out attempt is reported as a timeout', async () => {
  const lim = testLimiter(1)
  const out = await drain(
    pipe(
      [1, 2],
      pool((n: number, { signal }) => (n === 1 ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))) : n), { timeout: 20, ...limited(lim.factory) }),
    ),
  )
  assert.is(out.length, 2)
  assert.equal(lim.seen.outcomes.slice().sort(), [ATTEMPT_OK, ATTEMPT_TIMEOUT].sort())
  assert.ok(lim.seen.errors[0] instanceof TimeoutError)
})

test('pool: items waiting for admission stay within the stage bounds, then all complete when the gate opens', async () => {
  const lim = testLimiter(4, true)
  const { source, pulled } = counting(200)
  const pending = drain(pipe(source, pool(async (n: number) => n, { concurrency: 4, buffer: 2, ...limited(lim.factory) })))
  await until(() => lim.parked.length === 4, 'four attempts parked')
  await idle(30)
  assert.is(lim.parked.length, 4, 'one parked attempt per worker')
  assert.ok(pulled() <= 4 + 2 + 1 + 1, `pulled ${pulled()}: buffer + workers (+ the one in hand)`)
  lim.open()
  const out = await withTimeout(pending, 5_000, 'the run after opening')
  assert.is(out.length, 200)
  assert.is(lim.seen.acquired, 200)
})

test('pool: cancel while every attempt waits for admission resolves within 100 ms, withdraws the tickets, and counts the items as cancelled', async () => {
  const lim = testLimiter(2, true)
  const ac = new AbortController()
  const pending = run(pipe(range(50), pool(async (n: number) => n, { concurrency: 3, name: 'held', ...limited(lim.factory) })), { signal: ac.signal })
  await until(() => lim.parked.length === 3, 'three attempts parked')
  const { result, ms } = await abortTimed(ac, pending, 'cancelled run')
  assert.ok(ms < 100, `resolved ${ms.toFixed(1)} ms after the abort`)
  const error = leftOf(result)
  assert.is(error.kind, 'cancelled')
  assert.is(lim.parked.length, 0, 'every parked ticket withdrawn')
  assert.is(lim.seen.cancelled, 3)
  assert.is(lim.seen.outcomes.length, 0, 'nothing was admitted, so nothing released')
  const s = stage(error.report!, 'held')
  assert.ok(s.cancelled >= 3, `parked items counted as cancelled (${s.cancelled})`)
  assert.is(s.inFlight, 0)
})

test('pool: a kill elsewhere in the pipeline while attempts wait for admission withdraws them at once', async () => {
  const lim = testLimiter(2, true)
  const gate = deferred()
  const pending = run(
    pipe(
      range(50),
      pool(async (n: number) => {
        if (n === 2) {
          await gate.promise
          return kill('stop here')
        }
        return n
      }, 4),
      pool(async (n: number) => n, { concurrency: 3, name: 'held', ...limited(lim.factory) }),
    ),
  )
  await until(() => lim.parked.length === 3, 'three attempts parked')
  const t0 = performance.now()
  gate.resolve()
  const result = await withTimeout(pending, 2_000, 'killed run')
  assert.ok(performance.now() - t0 < 100, 'resolved within 100 ms of the kill')
  assert.is(leftOf(result).kind, 'killed')
  assert.is(lim.parked.length, 0, 'every parked ticket withdrawn')
  assert.is(lim.seen.cancelled, 3)
})

test('pool: a kill during an admitted attempt releases it as cancelled', async () => {
  const lim = testLimiter(2)
  const started = deferred()
  const ac = new AbortController()
  const pending = run(
    pipe(
      range(10),
      pool(
        async (n: number, { signal }) => {
          if (n === 0) started.resolve()
          await new Promise((resolve) => signal.addEventListener('abort', resolve))
          return n
        },
        { concurrency: 2, ...limited(lim.factory) },
      ),
    ),
    { signal: ac.signal },
  )
  await started.promise
  await until(() => lim.seen.running === 2, 'two admitted')
  ac.abort()
  await withTimeout(pending, 2_000, 'cancelled run')
  assert.is(count(lim.seen.outcomes, ATTEMPT_CANCELLED), 2)
  assert.is(lim.seen.running, 0, 'the limiter sees nothing left running')
})

test('mix: attempts of every handler share the stage limiter', async () => {
  const lim = testLimiter(1)
  const a = tracked<number>((n) => `a${n}`)
  const b = tracked<number>((n) => `b${n}`)
  const shared = { now: 0, max: 0 }
  const wrap = (h: (n: number, ctx: { attempt: number }) => Promise<unknown>) => async (n: number, ctx: { attempt: number }) => {
    shared.now++
    shared.max = Math.max(shared.max, shared.now)
    try {
      return await h(n, ctx)
    } finally {
      shared.now--
    }
  }
  const out = await drain(pipe(range(20), mix([wrap(a.handler), wrap(b.handler)], { ...limited(lim.factory) })))
  assert.is(out.filter(isRight).length, 20)
  assert.is(shared.max, 1, 'one attempt at a time across both handlers')
  assert.is(lim.seen.acquired, 20)
})

test('fork: each branch attempt is admitted, including a downstream retry replay', async () => {
  const lim = testLimiter(1)
  const a = tracked<number>((n) => n)
  const b = tracked<number>((n, attempt) => {
    if (n % 5 === 0 && attempt === 1) throw new Error(`b fails ${n}`)
    return n * 100
  })
  const out = await drain(pipe(range(10), fork([a.handler, b.handler], ([x, y]) => (x as number) + (y as number), { concurrency: 3, ...limited(lim.factory) }), retry({ retries: 1, backoff: 'none' })))
  assert.equal(out.filter(isRight).map((r) => r.right).sort((x, y) => x - y), range(10).map((n) => n * 101))
  assert.is(Math.max(a.calls.max, b.calls.max), 1)
  // 10 items × 2 branches, and the 2 failed items (0 and 5) replayed through both branches.
  assert.is(lim.seen.acquired, 24)
  assert.is(lim.seen.maxRunning, 1)
  assert.is(count(lim.seen.outcomes, ATTEMPT_FAILED), 2)
})

const fixture = new URL('../../fixtures/thread-cpu.ts', import.meta.url)

test('thread stage: in-place retries are admitted per attempt, bounded by the limiter, every item accounted for', async () => {
  const lim = testLimiter(1)
  const results: Either<unknown, unknown>[] = await drain(pipe(range(12), pool(thread(fixture, 'flaky'), { concurrency: 2, retries: 1, ...limited(lim.factory) })))
  assert.is(results.length, 12)
  assert.equal(results.filter(isRight).map((r) => r.right).sort((x, y) => (x as number) - (y as number)), range(12).map((n) => n * 10 + 2))
  assert.is(lim.seen.acquired, 24, 'the first attempt and the retry of each item')
  assert.is(lim.seen.maxRunning, 1)
  assert.is(count(lim.seen.outcomes, ATTEMPT_FAILED), 12)
  assert.is(count(lim.seen.outcomes, ATTEMPT_OK), 12)
})

test('thread stage: cancel while attempts wait for admission resolves within 100 ms', async () => {
  const lim = testLimiter(1, true)
  const ac = new AbortController()
  const pending = run(pipe(range(30), pool(thread(fixture, 'echo'), { concurrency: 2, name: 'held', ...limited(lim.factory) })), { signal: ac.signal })
  await until(() => lim.parked.length >= 2, 'attempts parked')
  const t0 = performance.now()
  ac.abort()
  const result = await withTimeout(pending, 2_000, 'cancelled run')
  assert.ok(performance.now() - t0 < 100, 'resolved within 100 ms')
  assert.is(leftOf(result).kind, 'cancelled')
  assert.is(lim.parked.length, 0, 'every parked ticket withdrawn')
  assert.is(lim.seen.outcomes.length, 0)
})

test.run()
