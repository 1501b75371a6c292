import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, fork, isLeft, mix, pipe, pool, retry, run, StageError, TimeoutError } from '../../src/index.js'
import { assertNoLeaks, deferred, sleep, withTimeout, abortableSleep, baseline, right, stage } from '../_helpers.js'

test('per-attempt timeout: the attempt signal aborts with a TimeoutError and the item fails with it', async () => {
  const before = await baseline()
  const reasons: unknown[] = []
  const t0 = performance.now()
  const { values, errors, report } = right(
    await collect(
      pipe(
        [1, 2, 3],
        pool(
          async (n: number, { signal }) => {
            if (n === 2) {
              try {
                await abortableSleep(10_000, signal)
              } catch (error) {
                reasons.push(signal.reason)
                throw error
              }
            }
            return n
          },
          { timeout: 30, name: 'fetch', concurrency: 3 },
        ),
      ),
    ),
  )
  assert.ok(performance.now() - t0 < 1000)
  assert.equal(values.sort(), [1, 3])
  assert.is(errors.length, 1)
  const error = errors[0]!
  assert.instance(error, StageError)
  assert.instance(error.cause, TimeoutError)
  assert.is((error.cause as TimeoutError).stage, 'fetch')
  assert.is((error.cause as TimeoutError).ms, 30)
  assert.is(error.item, 2)
  assert.is(reasons.length, 1)
  assert.instance(reasons[0], TimeoutError)
  assert.is(stage(report, 'fetch').failed, 1)
  await assertNoLeaks(before, 'per-attempt timers')
})

test('a timed-out attempt is retried in place by pool retries, with ctx.attempt counting', async () => {
  const before = await baseline()
  const attempts: number[] = []
  const { values, errors, report } = right(
    await collect(
      pipe(
        [7],
        pool(
          async (n: number, { signal, attempt }) => {
            attempts.push(attempt)
            if (attempt < 3) await abortableSleep(10_000, signal)
            return n * attempt
          },
          { timeout: 20, retries: 2, name: 'slow' },
        ),
      ),
    ),
  )
  assert.equal(values, [21])
  assert.equal(errors, [])
  assert.equal(attempts, [1, 2, 3])
  assert.is(stage(report, 'slow').retried, 2)
  assert.is(stage(report, 'slow').processed, 1)
  await assertNoLeaks(before)
})

test('a timed-out item is retried by a downstream retry; attempts and errors accumulate', async () => {
  const before = await baseline()
  const attempts: number[] = []
  const { values, errors, report } = right(
    await collect(
      pipe(
        [1, 2],
        pool(
          async (n: number, { signal, attempt }) => {
            if (n === 1) attempts.push(attempt)
            if (n === 1 && attempt < 3) await abortableSleep(10_000, signal)
            return n
          },
          { timeout: 20, name: 'slow' },
        ),
        retry({ retries: 2, backoff: 'none' }),
      ),
    ),
  )
  assert.equal(values.sort(), [1, 2])
  assert.equal(errors, [])
  assert.equal(attempts, [1, 2, 3])
  const s = stage(report, 'slow')
  assert.is(s.processed, 2)
  assert.is(s.failed, 0)
  assert.is(s.retried, 2)

  // Always timing out: the final StageError has every attempt's TimeoutError.
  const r = right(
    await collect(
      pipe(
        [1],
        pool(async (_n: number, { signal }) => abortableSleep(10_000, signal), { timeout: 10, retries: 1, name: 'never' }),
        retry({ retries: 1, backoff: 'none', when: (cause) => cause instanceof TimeoutError }),
      ),
    ),
  )
  assert.is(r.errors.length, 1)
  assert.is(r.errors[0]!.attempts, 3)
  for (const e of r.errors[0]!.errors) assert.instance(e, TimeoutError)
  await assertNoLeaks(before)
})

test('a handler that ignores its signal: the timeout takes effect at once; its late result is discarded and counted', async () => {
  const before = await baseline()
  const late = deferred()
  const gate = deferred()
  async function* source(): AsyncGenerator<number> {
    yield 1
    yield 2
    await gate.promise // keep the run going until the late result has come in
    yield 3
  }
  const t0 = performance.now()
  let failedAt = 0
  const out: unknown[] = []
  const pending = collect(
    pipe(
      source(),
      pool(
        async (n: number) => {
          if (n === 1) {
            await sleep(80) // ignores its signal
            setImmediate(() => {
              late.resolve()
              setImmediate(gate.resolve)
            })
            return 'late'
          }
          return n
        },
        { timeout: 20, concurrency: 2, name: 'stubborn' },
      ),
      pool((r: unknown) => {
        out.push(r)
        return r
      }, { name: 'next' }),
    ),
  )
  const result = right(await withTimeout(pending, 2000))
  failedAt = performance.now() - t0
  assert.ok(failedAt >= 75, 'the run waited for the gate')
  assert.ok(!out.includes('late'), 'the late result was not emitted')
  assert.equal(result.values.sort(), [2, 3])
  assert.is(result.errors.length, 1)
  assert.instance(result.errors[0]!.cause, TimeoutError)
  const s = stage(result.report, 'stubborn')
  assert.is(s.discarded, 1)
  assert.is(s.failed, 1)
  assert.is(s.processed, 2)
  await late.promise
  await assertNoLeaks(before)
})

test('the timeout fails the item promptly even while the handler ignores its signal', async () => {
  const before = await baseline()
  const t0 = performance.now()
  let failedAfter = -1
  const lateDone = deferred()
  for await (const r of pipe(
    [1],
    pool(async () => {
      await sleep(200)
      lateDone.resolve()
      return 1
    }, { timeout: 20 }),
  )) {
    if (isLeft(r)) failedAfter = performance.now() - t0
  }
  assert.ok(failedAfter >= 15 && failedAfter < 150, `failed after ${failedAfter.toFixed(0)} ms`)
  await lateDone.promise
  await assertNoLeaks(before)
})

test('timeout applies in mix and fork branches, and a synchronous handler that returns in time is not affected', async () => {
  const before = await baseline()
  const slow = async (_n: number, { signal }: { signal: AbortSignal }): Promise<number> => {
    await abortableSleep(10_000, signal)
    return 0
  }
  const m = right(await collect(pipe([1, 2, 3, 4], mix([(n: number) => n, slow], { timeout: 20 }))))
  assert.is(m.values.length + m.errors.length, 4)
  for (const e of m.errors) assert.instance(e.cause, TimeoutError)
  const f = right(await collect(pipe([1, 2], fork([(n: number) => n, slow], (r) => r, { timeout: 20 }))))
  assert.is(f.errors.length, 2)
  for (const e of f.errors) assert.instance(e.cause, TimeoutError)
  const ok = right(await run(pipe([1, 2, 3], pool((n: number) => n, { timeout: 5 }))))
  assert.is(ok.processed, 3)
  await assertNoLeaks(before)
})

test.run()
