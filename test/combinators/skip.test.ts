import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, fork, isRight, mix, pipe, pool, retry, right as mkRight, run, skip, thread, values } from '../../src/index.js'
import { deferred, drain, isL, right, stage, withTimeout } from '../_helpers.js'

const evensOnly = (n: number) => (n % 2 === 0 ? n : skip)

test('skip drops the item without a failure; the stage and the run count it as skipped', async () => {
  const { values: out, errors, report } = right(await collect(pipe([1, 2, 3, 4, 5, 6], pool(evensOnly, 2))))
  assert.equal(out.slice().sort((a, b) => a - b), [2, 4, 6])
  assert.is(errors.length, 0)
  const s = stage(report, 'evensOnly')
  assert.equal([s.processed, s.failed, s.skipped], [3, 0, 3])
  assert.equal([report.processed, report.failed, report.skipped], [3, 0, 3])
})

test('every input is accounted for: processed + failed + skipped, per stage and for the run', async () => {
  const triage = async (n: number) => {
    await Promise.resolve()
    if (n % 3 === 0) return skip
    if (n % 3 === 1) throw new Error(`bad ${n}`)
    return n
  }
  const report = right(await run(pipe(Array.from({ length: 30 }, (_, i) => i), pool(triage, 4), pool((n: number) => (n > 20 ? skip : n)))))
  const first = stage(report, 'triage')
  assert.equal([first.processed, first.failed, first.skipped], [10, 10, 10])
  const second = report.stages[1]!
  assert.equal([second.processed, second.skipped], [7, 3])
  assert.equal([report.processed, report.failed, report.skipped], [7, 10, 13])
  assert.is(report.processed + report.failed + report.skipped, 30)
})

test('a handler that returns undefined is not a skip: its item leaves as a Right and counts as processed', async () => {
  for (const ordered of [false, true]) {
    const out = right(await collect(pipe([1, 2, 3], pool(async () => undefined, { concurrency: 2, ordered }), pool((v: undefined) => v))))
    assert.equal(out.values, [undefined, undefined, undefined])
    assert.equal([out.report.processed, out.report.skipped], [3, 0])
  }
})

test('a handler may resolve to skip, or return it in a Right; it never appears in the output', async () => {
  const out = await drain(pipe([1, 2, 3], pool(async (n: number) => (n === 2 ? mkRight(skip) : n)), pool(async (n: number) => (n === 3 ? skip : n))))
  assert.equal(out.map((e) => (isL(e) ? 'left' : e.right)), [1])
})

test('with ordered output a skipped item does not hold back the ones after it', async () => {
  const gate = deferred()
  const handler = async (n: number) => {
    if (n === 5) await gate.promise
    return n % 2 === 1 && n !== 5 ? skip : n
  }
  const it = pipe(Array.from({ length: 10 }, (_, i) => i), pool(handler, { concurrency: 3, ordered: true }), values())[Symbol.asyncIterator]()
  assert.is((await withTimeout(it.next(), 1_000, 'item 0')).value, 0)
  assert.is((await withTimeout(it.next(), 1_000, 'item 2 (1 skipped)')).value, 2)
  assert.is((await withTimeout(it.next(), 1_000, 'item 4 (3 skipped)')).value, 4)
  gate.resolve()
  const rest: number[] = []
  for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value)
  assert.equal(rest, [5, 6, 8])
})

test('an ordered stage where every item is skipped ends, with a large input', async () => {
  const report = right(await withTimeout(run(pipe(Array.from({ length: 5_000 }, (_, i) => i), pool(async () => skip, { concurrency: 8, ordered: true }))), 5_000))
  assert.equal([report.processed, report.skipped], [0, 5_000])
})

test('mix: any worker may skip', async () => {
  const { values: out, report } = right(await collect(pipe([1, 2, 3, 4, 5, 6, 7, 8], mix([evensOnly, async (n: number) => evensOnly(n)]))))
  assert.equal(out.slice().sort((a, b) => a - b), [2, 4, 6, 8])
  assert.is(report.stages[0]!.skipped, 4)
})

test('fork: a branch that returns skip skips the whole item, merge is not called; a failing branch still fails it', async () => {
  const merged: number[][] = []
  const flow = pipe(
    [1, 2, 3, 4],
    fork(
      [(n: number) => (n === 2 || n === 3 ? skip : n), async (n: number) => (n === 3 ? Promise.reject(new Error('three')) : n * 10)],
      ([a, b]) => {
        merged.push([a, b])
        return a + b
      },
      { concurrency: 2 },
    ),
  )
  const { values: out, errors, report } = right(await collect(flow))
  assert.equal(out.slice().sort((a, b) => a - b), [11, 44])
  assert.equal(errors.map((e) => e.item), [3])
  assert.equal(merged.length, 2)
  assert.equal([report.stages[0]!.processed, report.stages[0]!.failed, report.stages[0]!.skipped], [2, 1, 1])
  // merge may return skip too.
  const viaMerge = right(await collect(pipe([1, 2], fork([(n: number) => n], ([n]) => (n === 1 ? skip : n))))).values
  assert.equal(viaMerge, [2])
})

test('fork with retries goes through its workers: a skipping branch still skips the item', async () => {
  const { values: out, report } = right(await collect(pipe([1, 2, 3], fork([evensOnly, (n: number) => n], ([a, b]) => a + b, { retries: 1 }))))
  assert.equal(out, [4])
  assert.is(report.stages[0]!.skipped, 2)
})

test('a retried item whose replay returns skip leaves as nothing; both stages and the run count it once', async () => {
  const tries = new Map<number, number>()
  const flaky = async (n: number) => {
    const t = (tries.get(n) ?? 0) + 1
    tries.set(n, t)
    if (t === 1) throw new Error(`first try of ${n}`)
    return n === 2 ? skip : n
  }
  const report = right(await run(pipe([1, 2, 3], pool(flaky, 2), retry(2))))
  const origin = stage(report, 'flaky')
  assert.equal([origin.processed, origin.failed, origin.skipped], [2, 0, 1])
  assert.equal([report.processed, report.failed, report.skipped], [2, 0, 1])
})

test('thread handlers: skip crosses the thread boundary (it is a registered symbol)', async () => {
  const result = await withTimeout(
    collect(
      pipe(
        [1, 2, 3, 4, 5],
        pool(
          thread((n: number) => (n % 2 === 0 ? n : Symbol.for('pipevine.skip'))),
          1,
        ),
      ),
    ),
    20_000,
    'the thread run',
  )
  assert.ok(isRight(result))
  if (!isRight(result)) return
  assert.equal(result.right.values, [2, 4])
  assert.equal(result.right.errors, [])
  assert.equal([result.right.report.stages[0]!.processed, result.right.report.stages[0]!.skipped], [2, 3])
})

test('skip is the registered symbol pipevine.skip (the same in every copy of the library)', () => {
  assert.is(skip, Symbol.for('pipevine.skip'))
})

test.run()
