import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, fork, left, mix, pipe, pool, retry, StageError, thread, values, type StageContext } from '../../src/index.js'
import { drain, right, sleep, withTimeout } from '../_helpers.js'

const letters = Array.from('abcdefghijklmnopqrst')

test("ctx.index is the item's position in the stage's input, queued items and async handlers included", async () => {
  const seen: [string, number][] = []
  const handler = async (s: string, { index }: StageContext) => {
    seen.push([s, index])
    await sleep(index % 3)
    return `${index}:${s}`
  }
  const out = await drain(pipe(letters, pool(handler, { concurrency: 3, buffer: 4 }), values()))
  assert.equal(seen.slice().sort((a, b) => a[1] - b[1]), letters.map((s, i) => [s, i]))
  assert.equal(out.slice().sort(), letters.map((s, i) => `${i}:${s}`).sort())
})

test('ctx.index counts from 0 in each stage, Lefts passing through included', async () => {
  const idx = (_: string, { index }: StageContext) => index
  const firstStage = pool((s: string, { index }: StageContext) => (s === 'b' ? Promise.reject(new Error('b')) : `${s}${index}`), { concurrency: 2, ordered: true })
  const out = await drain(pipe(['a', 'b', 'c', 'd'], firstStage, pool(idx, { ordered: true })))
  assert.equal(out.map((e) => (e._tag === 'Left' ? 'L' : e.right)), [0, 'L', 2, 3])
})

test('mix and fork branches see the same ctx.index; so does an attempt with a timeout', async () => {
  const mixed = await drain(pipe(letters.slice(0, 6), mix([(_: string, c: StageContext) => c.index, async (_: string, c: StageContext) => c.index]), values()))
  assert.equal(mixed.slice().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5])
  const forked = await drain(pipe(letters.slice(0, 4), fork([(_: string, c: StageContext) => c.index, async (_: string, c: StageContext) => c.index * 10], ([a, b]) => [a, b], { concurrency: 2 }), values()))
  assert.equal(forked.slice().sort((a, b) => a[0]! - b[0]!), [[0, 0], [1, 10], [2, 20], [3, 30]])
  const timed = await drain(pipe(letters.slice(0, 4), pool(async (_: string, c: StageContext) => c.index, { concurrency: 2, timeout: 1_000 }), values()))
  assert.equal(timed.slice().sort((a, b) => a - b), [0, 1, 2, 3])
})

test('attempts in place and replays from a downstream retry keep the original ctx.index', async () => {
  const calls: [string, number, number][] = []
  const flaky = async (s: string, { index, attempt }: StageContext) => {
    calls.push([s, index, attempt])
    if (attempt < 3) throw new Error(`${s} fails`)
    return `${s}${index}`
  }
  const out = right(await collect(pipe(['a', 'b', 'c', 'd', 'e'], pool(flaky, { concurrency: 2, retries: 1 }), retry(1))))
  assert.equal(out.values.slice().sort(), ['a0', 'b1', 'c2', 'd3', 'e4'])
  for (const [s, index] of calls) assert.is(index, letters.indexOf(s), `${s} ran with index ${index}`)
  assert.is(calls.length, 15)
})

test('a recovered item replayed through the stages its Left passed keeps its index there too', async () => {
  const tries = new Map<string, number>()
  const flaky = (s: string) => {
    const t = (tries.get(s) ?? 0) + 1
    tries.set(s, t)
    if (s === 'c' && t === 1) throw new Error('c once')
    return s
  }
  const later: [string, number][] = []
  const second = (s: string, { index }: StageContext) => (later.push([s, index]), s)
  const out = right(await collect(pipe(['a', 'b', 'c', 'd'], pool(flaky), pool(second), retry(1))))
  assert.equal(out.values.slice().sort(), ['a', 'b', 'c', 'd'])
  assert.equal(later.slice().sort(), [['a', 0], ['b', 1], ['c', 2], ['d', 3]])
})

test('thread handlers see ctx.index, in batches and out of order', async () => {
  const items = Array.from({ length: 40 }, (_, i) => i * 7)
  const result = right(
    await withTimeout(
      collect(pipe([left(new StageError('before', 0, [new Error('not an item')])), ...items], pool(thread((n: number, ctx: { index: number }) => [n, ctx.index]), 2))),
      20_000,
      'the thread run',
    ),
  )
  const pairs = (result.values as [number, number][]).slice().sort((a, b) => a[1] - b[1])
  assert.equal(pairs, items.map((n, i) => [n, i + 1]))
})

test.run()
