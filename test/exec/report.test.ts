import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, flow, from, isRight, pipe, pool, retry, run, StageError, values, type Report, type StageReport } from '../../src/index.js'
import { assertNoLeaks, deferred, seeded, withTimeout, baseline, range, right, stage } from '../_helpers.js'

test('3 stages over 1,000 items with seeded failures: per-stage counts match counts taken in the handlers', async () => {
  const before = await baseline()
  const rand = seeded(42)
  // Decide failures up front so each stage's count is known independently of the library.
  const failAt = range(1000).map(() => [rand() < 0.05, rand() < 0.07, rand() < 0.03])
  const seen = { parse: { ok: 0, failed: 0 }, enrich: { ok: 0, failed: 0 }, store: { ok: 0, failed: 0 } }
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

  const parse = (n: number): { n: number } => {
    if (failAt[n]![0]) {
      seen.parse.failed++
      throw new Error(`parse ${n}`)
    }
    seen.parse.ok++
    return { n }
  }
  const enrich = async (x: { n: number }): Promise<{ n: number; e: true }> => {
    await tick()
    if (failAt[x.n]![1]) {
      seen.enrich.failed++
      throw new Error(`enrich ${x.n}`)
    }
    seen.enrich.ok++
    return { ...x, e: true }
  }
  const store = async (x: { n: number }): Promise<number> => {
    await tick()
    if (failAt[x.n]![2]) {
      seen.store.failed++
      throw new Error(`store ${x.n}`)
    }
    seen.store.ok++
    return x.n
  }

  const result = await run(pipe(range(1000), pool(parse, 2), pool(enrich, { concurrency: 4, buffer: 3 }), pool(store, 3)))
  const report = right(result)
  for (const name of ['parse', 'enrich', 'store'] as const) {
    const s = stage(report, name)
    assert.is(s.processed, seen[name].ok, `${name}.processed`)
    assert.is(s.failed, seen[name].failed, `${name}.failed`)
    assert.is(s.inFlight, 0, `${name}.inFlight`)
    assert.is(s.retried, 0, `${name}.retried`)
    assert.ok(s.durationMs > 0, `${name}.durationMs > 0`)
    assert.ok(s.busyMs > 0, `${name}.busyMs > 0`)
  }
  // Sanity: the seeded failures actually happen at every stage.
  assert.ok(seen.parse.failed > 10 && seen.enrich.failed > 10 && seen.store.failed > 5)
  assert.is(seen.parse.ok + seen.parse.failed, 1000)
  assert.is(seen.enrich.ok + seen.enrich.failed, seen.parse.ok, 'a Left passing through enrich is not handled there')
  assert.is(report.processed, seen.store.ok)
  assert.is(report.failed, seen.parse.failed + seen.enrich.failed + seen.store.failed, 'each failed item counted once')
  assert.is(report.processed + report.failed, 1000)
  assert.ok(report.durationMs > 0)
  const workers = { parse: 2, enrich: 4, store: 3 }
  for (const [name, n] of Object.entries(workers)) {
    const s = stage(report, name)
    assert.ok(s.busyMs <= s.durationMs * n + 1e-6, `${name}: busyMs ${s.busyMs} <= durationMs ${s.durationMs} x ${n}`)
    assert.ok(s.durationMs <= report.durationMs + 1e-6, `${name}: stage duration within the run's`)
  }
  await assertNoLeaks(before, 'completed run')
})

test('collect returns every Right value and every StageError, totalling the input', async () => {
  const before = await baseline()
  const rand = seeded(7)
  const bad = new Set(range(500).filter(() => rand() < 0.1))
  const result = await collect(
    pipe(
      range(500),
      pool(async (n: number) => {
        if (bad.has(n)) throw new Error(`bad ${n}`)
        return n * 2
      }, 5),
    ),
  )
  const { values: got, errors, report } = right(result)
  assert.is(got.length + errors.length, 500)
  assert.equal(
    [...got].sort((a, b) => a - b),
    range(500)
      .filter((n) => !bad.has(n))
      .map((n) => n * 2),
  )
  assert.equal(errors.map((e) => e.item as number).sort((a, b) => a - b), [...bad].sort((a, b) => a - b))
  for (const e of errors) {
    assert.instance(e, StageError)
    assert.is(e.attempts, 1)
  }
  assert.is(report.processed, got.length)
  assert.is(report.failed, errors.length)
  await assertNoLeaks(before)
})

test('retries: an item that succeeds after retries is processed, not failed; retried counts the extra attempts', async () => {
  const tries = new Map<number, number>()
  const result = await run(
    pipe(
      range(20),
      pool(
        (n: number, ctx) => {
          tries.set(n, (tries.get(n) ?? 0) + 1)
          if (n % 4 === 0 && ctx.attempt < 3) throw new Error('flaky')
          return n
        },
        { concurrency: 2, retries: 1, name: 'flaky' },
      ),
      retry({ retries: 2, backoff: 'none' }),
    ),
  )
  const report = right(result)
  const s = stage(report, 'flaky')
  assert.is(s.processed, 20)
  assert.is(s.failed, 0)
  assert.is(s.retried, 5 * 2, 'two extra attempts for each of the 5 flaky items')
  assert.is(report.processed, 20)
  assert.is(report.failed, 0)
})

test('countLength counts array and string items by length', async () => {
  const report = right(await run(pipe([[1, 2, 3, 4, 5], 'abc', 7, [] as number[]], pool((x: unknown) => x)), { countLength: true }))
  assert.is(report.processed, 5 + 3 + 1 + 0)
  const plain = right(await run(pipe([[1, 2, 3, 4, 5], 'abc', 7], pool((x: unknown) => x))))
  assert.is(plain.processed, 3)
  const collected = right(await collect(pipe([[1, 2, 3, 4, 5]], pool((x: number[]) => x)), { countLength: true }))
  assert.is(collected.report.processed, 5)
  assert.equal(collected.values, [[1, 2, 3, 4, 5]])
})

test('values() drops Lefts but the run still counts them as failed', async () => {
  const report = right(
    await run(
      pipe(
        range(10),
        pool((n: number) => {
          if (n < 3) throw new Error('no')
          return n
        }),
        values(),
      ),
    ),
  )
  assert.is(report.processed, 7)
  assert.is(report.failed, 3)
})

test('onProgress: at most one call per progressMs (+1 final), monotonic, last equals the final report', async () => {
  const before = await baseline()
  const calls: { at: number; report: Report }[] = []
  const progressMs = 20
  const started = performance.now()
  const result = await run(
    pipe(
      range(150),
      pool(
        async (n: number) => {
          await new Promise((resolve) => setTimeout(resolve, 1))
          if (n % 10 === 0) throw new Error('ten')
          return n
        },
        { concurrency: 2, name: 'slow' },
      ),
    ),
    { progressMs, onProgress: (report) => calls.push({ at: performance.now(), report }) },
  )
  const elapsed = performance.now() - started
  const final = right(result)
  assert.ok(calls.length >= 2, `expected periodic calls, got ${calls.length}`)
  assert.ok(calls.length <= Math.floor(elapsed / progressMs) + 1, `${calls.length} calls in ${elapsed.toFixed(0)} ms at ${progressMs} ms`)
  // Spacing: periodic calls are at least ~progressMs apart (timers may fire a little early; allow 2 ms).
  for (let i = 1; i < calls.length - 1; i++) assert.ok(calls[i]!.at - calls[i - 1]!.at >= progressMs - 2, `call ${i} too soon`)
  for (let i = 1; i < calls.length; i++) {
    const a = calls[i - 1]!.report
    const b = calls[i]!.report
    assert.ok(b.processed >= a.processed && b.failed >= a.failed, 'run counts never go down')
    assert.ok(b.durationMs >= a.durationMs)
    const sa = stage(a, 'slow')
    const sb = stage(b, 'slow')
    assert.ok(sb.processed >= sa.processed && sb.failed >= sa.failed && sb.retried >= sa.retried && sb.busyMs >= sa.busyMs, 'stage counts never go down')
  }
  assert.equal(calls.at(-1)!.report, final, 'the last call gets the final report')
  assert.is(final.processed, 135)
  assert.is(final.failed, 15)
  await assertNoLeaks(before, 'progress timer')
})

test('onProgress is called once at the end even for a run shorter than progressMs; a throwing onProgress ends the run as internal', async () => {
  const calls: Report[] = []
  const report = right(await run(pipe([1, 2, 3], pool((x: number) => x)), { onProgress: (r) => calls.push(r), progressMs: 10_000 }))
  assert.is(calls.length, 1)
  assert.is(calls[0]!.processed, report.processed)

  const before = await baseline()
  const gate = deferred()
  const result = await withTimeout(
    run(
      pipe(
        range(1000),
        pool(async (n: number, { signal }) => {
          if (n === 0) gate.resolve()
          await new Promise((resolve) => setTimeout(resolve, 5))
          signal.throwIfAborted()
          return n
        }),
      ),
      {
        progressMs: 5,
        onProgress: () => {
          throw new Error('progress bug')
        },
      },
    ),
    2000,
  )
  assert.ok(result._tag === 'Left')
  if (result._tag === 'Left') {
    assert.is(result.left.kind, 'internal')
    assert.is((result.left.cause as Error).message, 'progress bug')
  }
  await assertNoLeaks(before)
})

test('nested pipeline as a source and a flow() composition report their stages under the outer run, with unique names', async () => {
  const fetch = (n: number): number => n + 1
  const inner = pipe(range(10), pool(fetch, 2))
  const enrich = flow(pool(fetch, 2), pool(async (n: number) => n * 10, { name: 'scale' }))
  const report = right(await run(pipe(inner, enrich, pool(fetch))))
  assert.equal(
    report.stages.map((s) => s.name).sort(),
    ['fetch', 'fetch#2', 'fetch#3', 'scale'],
  )
  for (const s of report.stages) assert.is(s.processed, 10, `${s.name} processed`)
  assert.is(report.processed, 10)
})

test('a nested pipeline sees the outer env; the outer report survives IxJS method chaining', async () => {
  const seen: unknown[] = []
  const inner = pipe(
    [1, 2],
    pool((n: number, ctx) => {
      seen.push(ctx.env)
      return n
    }, { name: 'inner' }),
  )
  const outer = from(inner).pipe(pool((r: number) => r, { name: 'outer' }))
  const report = right(await run(outer, { env: { db: 'x' } }))
  assert.equal(seen, [{ db: 'x' }, { db: 'x' }])
  assert.equal(report.stages.map((s) => s.name).sort(), ['inner', 'outer'])
})

test('timing: false skips handler timing (busyMs 0) but keeps every count', async () => {
  const report = right(await run(pipe(range(50), pool(async (n: number) => n, { concurrency: 2, name: 'p' })), { timing: false }))
  assert.is(stage(report, 'p').busyMs, 0)
  assert.is(stage(report, 'p').processed, 50)
  assert.ok(stage(report, 'p').durationMs > 0)
})

test('run validates its options with a TypeError naming the argument', async () => {
  assert.throws(() => run([1], { progresMs: 5 } as never), (e: unknown) => e instanceof TypeError && /progresMs/.test((e as Error).message))
  assert.throws(() => run([1], { progressMs: 0 }), (e: unknown) => e instanceof TypeError && /progressMs/.test((e as Error).message))
})


test('a run whose stages never wait still lets timers fire: progress is reported during it', async () => {
  const progress: number[] = []
  const items = Array.from({ length: 200_000 }, (_, i) => i)
  // Synchronous handlers over an array: every item is ready the moment it is asked for.
  const result = await run(pipe(items, pool((n: number) => n + 1), pool((n: number) => n * 2)), {
    onProgress: (r) => progress.push(r.processed),
    progressMs: 1,
  })
  assert.is(result._tag, 'Right')
  if (result._tag === 'Right') assert.is(result.right.processed, items.length)
  assert.ok(progress.length >= 2, `progress reported during the run, not only at its end (${progress.length} calls)`)
  assert.ok(progress.some((p) => p > 0 && p < items.length), 'a report from the middle of the run')
})

test('sampled timing: a long run of a slow synchronous handler still gets a busyMs close to the work done', async () => {
  const spin = (ms: number) => {
    const end = performance.now() + ms
    while (performance.now() < end) {
      // a synchronous handler that holds its worker for `ms`
    }
  }
  const n = 200
  const result = await run(pipe(Array.from({ length: n }, (_, i) => i), pool((x: number) => (spin(0.2), x), { name: 'spin' })))
  assert.is(result._tag, 'Right')
  if (result._tag !== 'Right') return
  const s = stage(result.right, 'spin')
  // 200 × 0.2 ms = 40 ms of handler time, estimated from 16 exact items and a sample of the rest.
  assert.ok(s.busyMs >= 0.5 * n * 0.2, `busyMs ${s.busyMs} reflects the ~${n * 0.2} ms of handler time`)
  assert.ok(s.busyMs <= s.durationMs + 1e-6, `busyMs ${s.busyMs} never exceeds durationMs ${s.durationMs} × 1 worker`)
})

test.run()
