import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isLeft, isRight, pipe, pool, retry, run, thread, TimeoutError, type StageError } from '../../../src/index.js'
import { SimServer } from '../../../bench/sim-server.js'
import { assertNoLeaks, baseline, counting, deferred, drain, leftOf, range, right, stage, until, withTimeout } from '../../_helpers.js'

/**
 * A handler in front of a simulated service (503s with retryAfterMs beyond 3C),
 * where items divisible by 17 hang on their first attempt (until their timeout
 * aborts them), counting calls in flight.
 */
function service(C: number) {
  const server = new SimServer(C, 4, 5)
  const calls = { now: 0, max: 0, started: 0 }
  const handler = async (n: number, ctx: { attempt: number; signal: AbortSignal }): Promise<number> => {
    calls.now++
    calls.started++
    calls.max = Math.max(calls.max, calls.now)
    try {
      if (n % 17 === 0 && ctx.attempt === 1) {
        await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }))
      }
      return await server.call(n * 2)
    } finally {
      calls.now--
    }
  }
  return { server, calls, handler }
}

const overloaded = (cause: unknown): boolean => (cause as { status?: number }).status === 503

test('adaptive + rate + retries + timeout + ordered + a downstream retry: every item once, in order, within the bounds', async () => {
  const { calls, handler, server } = service(4)
  const { source, pulled } = counting(400)
  const max = 24
  const out = await drain(
    pipe(
      source,
      pool(handler, { name: 'api', concurrency: { min: 1, max, initial: max }, rate: { perSecond: 4_000, burst: 40 }, retries: 2, timeout: 40, ordered: true, buffer: 4 }),
      // ordered: a replayed item keeps its place (an unordered retry lets it out when it recovers)
      retry({ retries: 20, backoff: 'none', when: overloaded, ordered: true }),
    ),
  )
  assert.is(pulled(), 400)
  assert.is(out.length, 400, 'every item leaves once')
  const values = out.map((e) => (isRight(e) ? (e.right as number) / 2 : ((e as { left: StageError }).left.item as number)))
  assert.equal(values, range(400), 'in source order')
  const failed = out.filter(isLeft)
  for (const f of failed) assert.ok(overloaded(f.left.cause) || f.left.cause instanceof TimeoutError, `only overload or timeout fails an item (${String(f.left.cause)})`)
  assert.ok(out.filter(isRight).length >= 380, `nearly all recovered (${out.filter(isRight).length})`)
  assert.ok(calls.max <= max, `never more than max = ${max} attempts at once (${calls.max})`)
  assert.ok(server.refused > 0, 'starting at 24 against C = 4 met refusals (the combination was exercised)')
})

test('adaptive + rate + retries + timeout + ordered: cancel mid-run resolves within 100 ms, starts nothing after, leaves nothing running', async () => {
  const before = await baseline()
  const { calls, handler } = service(8)
  const ac = new AbortController()
  const going = deferred()
  const pending = run(
    pipe(
      range(5_000),
      pool((n: number, ctx) => (n === 300 && going.resolve(), handler(n, ctx)), { name: 'api', concurrency: { min: 1, max: 64, initial: 4 }, rate: { perSecond: 2_000, burst: 8 }, retries: 2, timeout: 30, ordered: true }),
      retry({ retries: 3, backoff: 'exponential', baseMs: 5, when: overloaded }),
    ),
    { signal: ac.signal },
  )
  await going.promise
  const t0 = performance.now()
  ac.abort()
  const startedAtAbort = calls.started
  const result = await withTimeout(pending, 2_000, 'the cancelled run')
  const ms = performance.now() - t0
  assert.ok(ms < 100, `resolved ${ms.toFixed(1)} ms after the abort`)
  const error = leftOf(result)
  assert.is(error.kind, 'cancelled')
  assert.is(calls.started, startedAtAbort, 'no attempt started after the abort')
  assert.is(stage(error.report!, 'api').inFlight, 0)
  await until(() => calls.now === 0, 'every handler settled')
  await assertNoLeaks(before, 'timers after the cancelled run')
})

test('adaptive: a stage stopping while attempts wait for admission starts none of them (their slots freed by the stop)', async () => {
  const started = { n: 0 }
  const first = deferred()
  const ac = new AbortController()
  const pending = run(
    pipe(
      range(1_000),
      pool(
        async (n: number, { signal }) => {
          started.n++
          if (n === 0) first.resolve()
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
          return n
        },
        { concurrency: { min: 2, max: 50, initial: 2 } },
      ),
    ),
    { signal: ac.signal },
  )
  await first.promise
  await until(() => started.n === 2, 'two admitted')
  ac.abort()
  await withTimeout(pending, 2_000, 'the cancelled run')
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(started.n, 2, 'the parked attempts were withdrawn, not started, when the running two were released')
})

test('adaptive + rate on a thread stage: every item accounted for, the limit reported', async () => {
  const fixture = new URL('../../fixtures/thread-cpu.ts', import.meta.url)
  const report = right(await run(pipe(range(200), pool(thread(fixture, 'echo'), { name: 't', concurrency: { min: 1, max: 3, initial: 2 }, rate: { perSecond: 5_000, burst: 50 } }))))
  const s = stage(report, 't')
  assert.is(s.processed, 200)
  assert.ok(s.concurrency >= 1 && s.concurrency <= 3, `limit ${s.concurrency} within [1, 3]`)
})

test.run()
