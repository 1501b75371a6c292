import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { map } from 'ix/asynciterable/operators/map'
import { buffer, collect, flow, from, pipe, pool, retry, run, PipelineError } from '../../src/index.js'
import { assertNoLeaks, counting, deferred, sleep, withTimeout, abortableSleep, baseline, leftOf, range, stage } from '../_helpers.js'

test('cancel while handlers honour the signal: resolves within 100 ms of the abort, kind cancelled, nothing left running', async () => {
  const before = await baseline()
  const src = counting()
  const ac = new AbortController()
  let started = 0
  // With 4 workers the 7th start happens only after the 3 fast items (0-2) finished.
  const seventh = deferred()
  const aborted: unknown[] = []
  const disposed: number[] = []
  const pending = run(
    pipe(
      src.source,
      pool(
        async (n: number, { signal }) => {
          if (++started === 7) seventh.resolve()
          try {
            await abortableSleep(n < 3 ? 1 : 10_000, signal)
          } catch (error) {
            aborted.push(error)
            throw error
          }
          return n
        },
        { concurrency: 4, buffer: 2, name: 'slow', dispose: (_state, ctx) => void disposed.push(ctx.worker) },
      ),
    ),
    { signal: ac.signal, onProgress: () => {}, progressMs: 5 },
  )
  await withTimeout(seventh.promise, 2000, 'seventh handler start')
  const reason = new Error('user pressed stop')
  const t0 = performance.now()
  ac.abort(reason)
  const result = await withTimeout(pending, 2000, 'cancelled run')
  const elapsed = performance.now() - t0
  assert.ok(elapsed < 100, `resolved ${elapsed.toFixed(1)} ms after the abort`)
  const error = leftOf(result)
  assert.instance(error, PipelineError)
  assert.is(error.kind, 'cancelled')
  assert.is(error.reason, reason)
  assert.ok(error.report, 'the partial report is attached')
  const s = stage(error.report!, 'slow')
  assert.is(s.processed, 3)
  assert.is(s.inFlight, 0)
  assert.ok(s.cancelled >= 4, `in-flight items counted as cancelled (${s.cancelled})`)
  await withTimeout(src.closed, 1000, 'source finally')
  assert.ok(src.pulled() <= 3 + 4 + 2 + 1, `pulled ${src.pulled()}`)
  assert.is(aborted.length, 4, 'every in-flight handler saw its signal abort')
  assert.equal(disposed.sort(), [0, 1, 2, 3])
  await assertNoLeaks(before, 'cancelled run')
})

test('cancel while handlers ignore the signal: still resolves promptly; late results are not emitted', async () => {
  const before = await baseline()
  const ac = new AbortController()
  const allStarted = deferred()
  let started = 0
  const lateDone = deferred()
  let late = 0
  const pending = collect(
    pipe(
      range(100),
      pool(
        async (n: number) => {
          if (n < 2) return n
          if (++started === 3) allStarted.resolve()
          await sleep(80) // ignores its signal
          if (++late === 3) lateDone.resolve()
          return n
        },
        { concurrency: 3, name: 'stubborn' },
      ),
      pool((n: number) => n, { name: 'after' }),
    ),
    { signal: ac.signal },
  )
  await withTimeout(allStarted.promise, 2000, 'handlers start')
  const t0 = performance.now()
  ac.abort()
  const result = await withTimeout(pending, 2000, 'cancelled collect')
  const elapsed = performance.now() - t0
  assert.ok(elapsed < 100, `resolved ${elapsed.toFixed(1)} ms after the abort`)
  const error = leftOf(result)
  assert.is(error.kind, 'cancelled')
  const s = stage(error.report!, 'stubborn')
  assert.is(s.inFlight, 0)
  assert.ok(s.cancelled >= 3, `the 3 abandoned items are counted as cancelled (${s.cancelled})`)
  assert.is(s.processed, 2, 'nothing finished after the abort is counted as processed')
  assert.is(stage(error.report!, 'after').processed, 2)
  // The late results arrive after the run ended: discarded, no crash, nothing left behind.
  await withTimeout(lateDone.promise, 2000, 'late results')
  await assertNoLeaks(before, 'abandoned handlers')
})

test('a for await consumer that breaks stops every stage; late results of stubborn handlers are discarded', async () => {
  const before = await baseline()
  const closed = deferred()
  function* source(): Generator<number> {
    try {
      for (let i = 0; ; i++) yield i
    } finally {
      closed.resolve()
    }
  }
  const lateDone = deferred()
  let late = 0
  const flowed = pipe(
    source(),
    pool(
      async (n: number) => {
        if (n >= 2) {
          await sleep(30)
          if (++late === 1) lateDone.resolve()
        }
        return n
      },
      { concurrency: 3, ordered: true },
    ),
  )
  const got: unknown[] = []
  for await (const r of flowed) {
    got.push(r)
    if (got.length === 2) break
  }
  assert.is(got.length, 2)
  await withTimeout(closed.promise, 1000, 'source finally')
  await withTimeout(lateDone.promise, 1000, 'late result')
  await assertNoLeaks(before, 'after break')
})

test('AbortSignal.timeout(ms) ends the run with kind timeout', async () => {
  const before = await baseline()
  const t0 = performance.now()
  const result = await withTimeout(
    run(
      pipe(
        counting().source,
        pool(async (n: number, { signal }) => {
          await abortableSleep(5, signal)
          return n
        }, 2),
      ),
      { signal: AbortSignal.timeout(60) },
    ),
    2000,
  )
  const elapsed = performance.now() - t0
  const error = leftOf(result)
  assert.is(error.kind, 'timeout')
  assert.ok(elapsed >= 55 && elapsed < 300, `elapsed ${elapsed.toFixed(0)} ms`)
  assert.ok(error.report!.processed > 0, 'it was running until the timeout')
  await assertNoLeaks(before, 'timed-out run')
})

test('a signal already aborted calls no handler and pulls nothing', async () => {
  const before = await baseline()
  let calls = 0
  let inits = 0
  const src = counting()
  const ac = new AbortController()
  ac.abort(new Error('before start'))
  const result = await run(
    pipe(
      src.source,
      pool(() => void calls++, { init: () => void inits++ }),
    ),
    { signal: ac.signal },
  )
  const error = leftOf(result)
  assert.is(error.kind, 'cancelled')
  assert.is(calls, 0)
  assert.is(inits, 0)
  assert.is(src.pulled(), 0)
  const timedOut = AbortSignal.timeout(1)
  // (Its timer is unref'd: withTimeout's own keeps the process alive until the signal fires.)
  await withTimeout(new Promise((resolve) => timedOut.addEventListener('abort', resolve, { once: true })), 1_000, 'AbortSignal.timeout(1)')
  const r2 = await collect(pipe([1, 2, 3], pool(() => void calls++)), { signal: timedOut })
  assert.is(leftOf(r2).kind, 'timeout')
  assert.is(calls, 0)
  await assertNoLeaks(before)
})

test('cancelling the outer run stops a nested pipeline source and a flow() composition (their finally runs)', async () => {
  const before = await baseline()
  const innerSrc = counting()
  const ac = new AbortController()
  const running = deferred()
  const inner = pipe(
    innerSrc.source,
    pool(async (n: number) => n, { name: 'fetch' }),
  )
  const composed = flow(
    pool(async (n: number, { signal }) => {
      if (n === 3) running.resolve()
      await abortableSleep(2, signal)
      return n
    }, { name: 'fetch', concurrency: 2 }),
    buffer(2),
  )
  const pending = run(pipe(inner, composed, pool((n: number) => n, { name: 'store' })), { signal: ac.signal })
  await withTimeout(running.promise, 2000, 'pipeline running')
  ac.abort()
  const error = leftOf(await withTimeout(pending, 1000, 'outer run'))
  assert.is(error.kind, 'cancelled')
  await withTimeout(innerSrc.closed, 1000, 'inner source finally')
  assert.equal(error.report!.stages.map((s) => s.name).sort(), ['fetch', 'fetch#2', 'store'])
  await assertNoLeaks(before)
})

test('cancel reaches stages behind IxJS operators (method chaining), promptly, and closes the source', async () => {
  const before = await baseline()
  const src = counting()
  const ac = new AbortController()
  const sixDone = deferred()
  const inner = pipe(
    src.source,
    pool(async (n: number, { signal }) => {
      if (n === 7) sixDone.resolve() // 2 workers, items from 6 on never finish: 7 starts once 0-5 are done
      await abortableSleep(n >= 6 ? 10_000 : 1, signal)
      return n
    }, { name: 'fetch', concurrency: 2 }),
  )
  const outer = from(inner).pipe(
    map((r) => r),
    pool((r: unknown) => r, { name: 'after' }),
    map((r) => r),
  )
  const pending = run(outer, { signal: ac.signal })
  await withTimeout(sixDone.promise, 2000)
  const t0 = performance.now()
  ac.abort()
  const error = leftOf(await withTimeout(pending, 1000))
  assert.ok(performance.now() - t0 < 100)
  assert.is(error.kind, 'cancelled')
  assert.equal(error.report!.stages.map((s) => s.name).sort(), ['after', 'fetch'])
  assert.is(stage(error.report!, 'fetch').processed, 6)
  await withTimeout(src.closed, 1000, 'source finally')
  await assertNoLeaks(before)
})

test('cancelling during a downstream retry backoff clears its timer and resolves at once', async () => {
  const before = await baseline()
  const ac = new AbortController()
  const backingOff = deferred()
  const pending = run(
    pipe(
      [1, 2, 3],
      pool(() => {
        throw new Error('down')
      }),
      // A long backoff, asked for (and its timer set) as the first failure reaches the retry stage.
      retry({
        retries: 3,
        backoff: () => {
          backingOff.resolve()
          return 10_000
        },
      }),
    ),
    { signal: ac.signal },
  )
  await backingOff.promise
  const t0 = performance.now()
  ac.abort()
  const error = leftOf(await withTimeout(pending, 1000))
  assert.ok(performance.now() - t0 < 100)
  assert.is(error.kind, 'cancelled')
  await assertNoLeaks(before, 'retry backoff timer')
})

test.run()
