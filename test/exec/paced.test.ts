import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fork, mix, pipe, pool, run, values } from '../../src/index.js'
import { drain, idle, right, withTimeout } from '../_helpers.js'

/** A source whose reads are a side effect: it counts them. */
function countedSource(limit: number) {
  let reads = 0
  async function* gen() {
    for (let i = 0; i < limit; i++) {
      reads++
      yield i
    }
  }
  return { gen: gen(), reads: () => reads }
}

const stages = {
  'pool (async)': () => pool(async (n: number) => n * 2, { buffer: 0 }),
  'pool (sync, concurrency 4)': () => pool((n: number) => n * 2, { concurrency: 4, buffer: 0 }),
  'mix': () => mix([async (n: number) => n * 2, (n: number) => n * 2], { buffer: 0 }),
  'fork': () => fork([async (n: number) => n, (n: number) => n], ([a, b]) => a + b, { buffer: 0 }),
}

for (const [name, make] of Object.entries(stages)) {
  test(`${name} with buffer: 0 never reads its source ahead of its consumer`, async () => {
    const src = countedSource(20)
    let consumerReads = 0
    const it = pipe(src.gen, make(), values())[Symbol.asyncIterator]()
    const out: number[] = []
    for (;;) {
      consumerReads++
      const r = await it.next()
      await idle(5) // time for any read-ahead to happen
      assert.ok(src.reads() <= consumerReads, `${src.reads()} source reads for ${consumerReads} consumer reads`)
      if (r.done) break
      out.push(r.value)
    }
    assert.equal(out.slice().sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i * 2))
  })
}

test('buffer: 1 (the default) does read ahead: what buffer: 0 is for', async () => {
  const src = countedSource(20)
  const it = pipe(src.gen, pool(async (n: number) => n), values())[Symbol.asyncIterator]()
  await it.next()
  await idle(5)
  assert.ok(src.reads() > 1, `${src.reads()} reads`)
  await it.return!()
})

test('buffer: 0 runs as many items at once as reads are waiting', async () => {
  const src = countedSource(10)
  let active = 0
  let peak = 0
  const it = pipe(
    src.gen,
    pool(
      async (n: number) => {
        peak = Math.max(peak, ++active)
        await new Promise((resolve) => setTimeout(resolve, 5))
        active--
        return n
      },
      { concurrency: 4, buffer: 0 },
    ),
    values(),
  )[Symbol.asyncIterator]()
  const reads = await withTimeout(Promise.all([it.next(), it.next(), it.next()]), 1_000)
  assert.equal(reads.map((r) => r.value).sort(), [0, 1, 2])
  assert.is(peak, 3)
  assert.is(src.reads(), 3)
  await it.return!()
})

test('buffer: 0 under a downstream stage pulls one item per item asked for, and a run completes with everything', async () => {
  const src = countedSource(50)
  const report = right(await withTimeout(run(pipe(src.gen, pool(async (n: number) => n, { buffer: 0, ordered: true }), pool(async (n: number) => n, 3))), 5_000))
  assert.is(report.processed, 50)
  const lefts = await drain(pipe([1, 2, 3], pool((n: number) => (n === 2 ? Promise.reject(new Error('two')) : n), { buffer: 0 })))
  assert.equal(lefts.map((e) => e._tag), ['Right', 'Left', 'Right'])
})

test.run()
