import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { batch, left, pipe, pool, right, StageError, unbatch, values } from '../../src/index.js'
import { activeResources, assertNoLeaks, deferred, drain, withTimeout, typeError } from '../_helpers.js'

test('batch(size) groups items into arrays; the last may be shorter', async () => {
  const out = await drain(pipe([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], batch(3)))
  assert.equal(out, [right([1, 2, 3]), right([4, 5, 6]), right([7, 8, 9]), right([10])])
  assert.equal(await drain(pipe([], batch(3))), [])
})

test('batch unwraps Rights and lets Lefts through on their own, in place (the batch before a Left goes out early)', async () => {
  const bad = left(new StageError('s', 2, [new Error('x')]))
  const out = await drain(pipe([right(1), bad, right(3), 4, 5], batch(2)))
  assert.equal(out, [right([1]), bad, right([3, 4]), right([5])])
  assert.is(out[1], bad)
})

test('batch maxWaitMs: a partial batch goes out while the source stalls', async () => {
  const baseline = activeResources()
  const release = deferred()
  async function* stalling() {
    yield 1
    yield 2
    await release.promise
    yield 3
  }
  const it = pipe(stalling(), batch(10, { maxWaitMs: 20 }))[Symbol.asyncIterator]()
  const started = performance.now()
  const first = await withTimeout(it.next(), 2_000, 'partial batch')
  const waited = performance.now() - started
  assert.equal(first.value, right([1, 2]))
  assert.ok(waited >= 19, `emitted after ${waited.toFixed(1)} ms, before maxWaitMs`)
  release.resolve()
  assert.equal((await it.next()).value, right([3]))
  assert.ok((await it.next()).done)
  await assertNoLeaks(baseline, 'batch timer')
})

test('batch without maxWaitMs waits for a full batch', async () => {
  const release = deferred()
  async function* stalling() {
    yield 1
    await release.promise
    yield 2
  }
  const it = pipe(stalling(), batch(2))[Symbol.asyncIterator]()
  let done = false
  const first = it.next().then((r) => ((done = true), r))
  await new Promise((resolve) => setTimeout(resolve, 30)) // long enough for a wrong timer to fire
  assert.not.ok(done, 'no partial batch without maxWaitMs')
  release.resolve()
  assert.equal((await first).value, right([1, 2]))
})

for (const maxWaitMs of [Infinity, 2 ** 31]) {
  test(`batch maxWaitMs ${maxWaitMs} (beyond any timer) waits for a full batch, it does not fire after 1 ms`, async () => {
    const baseline = activeResources()
    const release = deferred()
    async function* stalling() {
      yield 1
      await release.promise
      yield 2
    }
    const it = pipe(stalling(), batch(2, { maxWaitMs }))[Symbol.asyncIterator]()
    let done = false
    const first = it.next().then((r) => ((done = true), r))
    await new Promise((resolve) => setTimeout(resolve, 30)) // long enough for a wrongly short timer to fire
    assert.not.ok(done, 'no partial batch')
    release.resolve()
    assert.equal((await first).value, right([1, 2]))
    assert.ok((await it.next()).done)
    await assertNoLeaks(baseline)
  })
}

test('unbatch flattens arrays (any iterable) back into items; Lefts and non-iterables pass', async () => {
  const bad = left(new StageError('s', [9], [new Error('x')]))
  const input: unknown[] = [[1, 2], right([3]), bad, new Set([4, 5]), right([]), 'str', 6]
  const out = await drain(pipe(input as Iterable<number>[], unbatch()))
  assert.equal(out, [right(1), right(2), right(3), bad, right(4), right(5), right('str'), right(6)])
})

test('batch, a stage over batches, unbatch: every item comes back once', async () => {
  const input = Array.from({ length: 1_000 }, (_, i) => i)
  const out = await drain(
    pipe(
      input,
      batch(64, { maxWaitMs: 5 }),
      pool(async (xs: number[]) => xs.map((x) => x * 2), { concurrency: 3, ordered: true }),
      unbatch(),
      values(),
    ),
  )
  assert.equal(out, input.map((x) => x * 2))
})

test('batch/unbatch: bad arguments are TypeErrors naming batch and the argument', () => {
  typeError(() => batch(0), 'batch', 'size')
  typeError(() => batch(2.5), 'batch', 'size')
  typeError(() => batch(2, { maxWaitMs: -1 }), 'batch', 'maxWaitMs')
  typeError(() => batch(2, { maxWait: 5 } as never), 'batch', 'maxWait')
  typeError(() => batch(2, 5 as never), 'batch', 'options')
})

test.run()
