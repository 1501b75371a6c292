// Report times are rounded to 0.1 ms, in the run's report, every stage's, and onProgress's.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pipe, pool, run, thread, type Report } from '../../src/index.js'
import { StageStats, roundMs } from '../../src/exec/stats.js'
import { right } from '../_helpers.js'

const isTenth = (ms: number): boolean => Number.isFinite(ms) && ms >= 0 && Math.abs(ms * 10 - Math.round(ms * 10)) < 1e-9 && String(ms).length <= String(Math.trunc(ms)).length + 2

function times(report: Report): [string, number][] {
  return [['run durationMs', report.durationMs], ...report.stages.flatMap((s): [string, number][] => [[`${s.name}.durationMs`, s.durationMs], [`${s.name}.busyMs`, s.busyMs]])]
}

test('roundMs rounds to one decimal, and prints as one', () => {
  assert.equal([0.04, 0.05, 12.299999999813735, 3.14159, 7].map(roundMs), [0, 0.1, 12.3, 3.1, 7])
  assert.is(String(roundMs(0.1 + 0.2)), '0.3')
})

test('durationMs and busyMs in run reports and onProgress reports have at most one decimal', async () => {
  const progress: Report[] = []
  const slow = async (n: number): Promise<number> => {
    const until = performance.now() + 0.37
    while (performance.now() < until);
    await Promise.resolve()
    return n
  }
  const report = right(await run(pipe(Array.from({ length: 60 }, (_, i) => i), pool(slow, 3), pool((n: number) => n * 2, 2)), { onProgress: (r) => progress.push(r), progressMs: 5 }))
  assert.ok(progress.length >= 1)
  for (const r of [report, ...progress]) {
    for (const [what, ms] of times(r)) assert.ok(isTenth(ms), `${what} = ${ms} is rounded to 0.1 ms`)
  }
  assert.ok(report.stages[0]!.busyMs > 0 && report.durationMs > 0, 'rounding keeps real figures')
})

test('busyMs stays within durationMs × workers after rounding (no 0.30000000000000004)', () => {
  const stats = new StageStats('s')
  stats.startedAt = 1
  stats.endedAt = 1.1400001
  stats.workers = 3
  stats.busyMs = 10
  const snapshot = stats.snapshot(2)
  assert.is(snapshot.durationMs, 0.1)
  assert.is(snapshot.busyMs, 0.3)
})

test('a thread stage reports rounded times too', async () => {
  const report = right(await run(pipe([1, 2, 3, 4], pool(thread((n: number) => { let x = 0; for (let i = 0; i < n * 20_000; i++) x += i; return x }), 2))))
  for (const [what, ms] of times(report)) assert.ok(isTenth(ms), `${what} = ${ms} is rounded to 0.1 ms`)
})

test.run()
