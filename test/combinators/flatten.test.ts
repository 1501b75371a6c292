import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, flatten, left, pipe, pool, retry, StageError, values } from '../../src/index.js'
import { drain, idle, isL, right, withTimeout } from '../_helpers.js'

test('flatten emits the elements of arrays, sets, generators and async generators returned by a handler, in order', async () => {
  async function* twice(n: number) {
    yield n
    await Promise.resolve()
    yield n
  }
  function* upTo(n: number) {
    for (let i = 0; i < n; i++) yield i
  }
  const handler = (n: number): Iterable<number> | AsyncIterable<number> => (n === 0 ? [7, 8] : n === 1 ? new Set([9]) : n === 2 ? upTo(3) : twice(5))
  const out = await drain(pipe([0, 1, 2, 3], pool(handler, { ordered: true }), flatten(), values()))
  assert.equal(out, [7, 8, 9, 0, 1, 2, 5, 5])
})

test('flatten: strings and other non-iterables are single items; Lefts pass untouched; empty sequences emit nothing', async () => {
  const failed = left(new StageError('before', 1, [new Error('no')]))
  const out = await drain(pipe(['abc', new String('de'), 42, null, [], [1, 2], failed] as never[], flatten()))
  assert.equal(
    out.map((e) => (isL(e) ? 'L' : String(e.right))),
    ['abc', 'de', '42', 'null', '1', '2', 'L'],
  )
})

test('flatten reads an async iterable with backpressure: one element per read', async () => {
  let produced = 0
  async function* many() {
    for (let i = 0; i < 1_000; i++) {
      produced++
      yield i
    }
  }
  const it = pipe([0], pool(() => many()), flatten(), values())[Symbol.asyncIterator]()
  assert.is((await it.next()).value, 0)
  assert.is((await it.next()).value, 1)
  await idle(10)
  assert.ok(produced <= 4, `produced ${produced} elements for 2 reads`)
  await it.return!()
})

test('flatten reads a lazy, endless sync generator with backpressure too', async () => {
  function* naturals() {
    for (let i = 0; ; i++) yield i
  }
  const it = pipe([0], pool(() => naturals()), flatten(), values())[Symbol.asyncIterator]()
  const firstThree = [(await it.next()).value, (await it.next()).value, (await it.next()).value]
  assert.equal(firstThree, [0, 1, 2])
  await withTimeout(it.return!(), 1_000)
})

test('an early break closes the sequence being read (its finally runs)', async () => {
  let closed = false
  async function* rows() {
    try {
      for (let i = 0; ; i++) yield i
    } finally {
      closed = true
    }
  }
  for await (const n of pipe([0], pool(() => rows()), flatten(), values())) if (n === 3) break
  assert.ok(closed)
})

test('a sequence that throws midway keeps what it gave, then is a Left; the next items go on', async () => {
  async function* brittle(n: number) {
    yield n
    throw new Error(`broke after ${n}`)
  }
  const { values: out, errors, report } = right(await collect(pipe([1, 2], pool((n: number) => (n === 1 ? brittle(n) : [n, n]), { ordered: true }), flatten())))
  assert.equal(out, [1, 2, 2])
  assert.is(errors.length, 1)
  assert.is(errors[0]!.stage, 'flatten')
  assert.match((errors[0]!.cause as Error).message, 'broke after 1')
  assert.is(report.failed, 1)
})

test('flatten passes a retry below it: a failed item is retried and its elements come once', async () => {
  let tries = 0
  const flaky = (n: number) => {
    if (n === 2 && tries++ === 0) throw new Error('once')
    return [n, n * 10]
  }
  const out = await drain(pipe([1, 2], pool(flaky), retry(1), flatten(), values()))
  assert.equal(out.slice().sort((a, b) => a - b), [1, 2, 10, 20])
})

test('flatten of a pipeline returned by a handler runs it in the same run', async () => {
  const inner = (n: number) => pipe([n, n + 1], pool((m: number) => m * 2), values())
  const { values: out, report } = right(await collect(pipe([1, 10], pool(inner, { ordered: true }), flatten())))
  assert.equal(out, [2, 4, 20, 22])
  assert.ok(report.stages.length >= 2)
})

test.run()
