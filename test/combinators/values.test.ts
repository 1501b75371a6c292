import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { errors, left, orThrow, pipe, pool, right, run, StageError, values } from '../../src/index.js'
import { counting, drain, withTimeout } from '../_helpers.js'

const failOdd = (n: number) => {
  if (n % 2) throw new Error(`odd ${n}`)
  return n * 10
}

test('values() keeps the Right values unwrapped, drops Lefts, passes plain values', async () => {
  assert.equal(await drain(pipe([0, 1, 2, 3, 4], pool(failOdd, { ordered: true }), values())), [0, 20, 40])
  assert.equal(await drain(pipe([right(1), left(new StageError('s', 2, [new Error('x')])), 3], values())), [1, 3])
  assert.equal(await drain(pipe([1, 3], pool(failOdd), values())), [])
})

test('errors() keeps only the StageErrors', async () => {
  const out = await drain(pipe([0, 1, 2, 3], pool(failOdd, { ordered: true, name: 'odd' }), errors()))
  assert.is(out.length, 2)
  for (const e of out) {
    assert.ok(e instanceof StageError)
    assert.is(e.stage, 'odd')
  }
  assert.equal(
    out.map((e) => e.item),
    [1, 3],
  )
  assert.equal(await drain(pipe([right(1), 2], errors())), [])
})

test('orThrow() yields values until the first Left, then throws its StageError and closes the source', async () => {
  const src = counting()
  const got: number[] = []
  let caught: unknown
  try {
    for await (const v of pipe(src.source, pool((n: number) => (n === 3 ? Promise.reject(new Error('three')) : n), { ordered: true }), orThrow())) got.push(v)
  } catch (error) {
    caught = error
  }
  assert.equal(got, [0, 1, 2])
  assert.ok(caught instanceof StageError)
  assert.is((caught as StageError).item, 3)
  assert.is(((caught as StageError).cause as Error).message, 'three')
  await withTimeout(src.closed, 1_000, "the source's finally")
})

test('orThrow() with no Lefts is just the values', async () => {
  assert.equal(await drain(pipe([1, 2], pool((n: number) => n + 1, { ordered: true }), orThrow())), [2, 3])
})


test('values() on one of our stages is done by that stage: Lefts still count as failed, and it composes', async () => {
  const flow = pipe([0, 1, 2, 3, 4, 5], pool(failOdd, { ordered: true }), values())
  const result = await run(flow)
  assert.is(result._tag, 'Right')
  if (result._tag === 'Right') {
    assert.is(result.right.processed, 3)
    assert.is(result.right.failed, 3, 'the dropped Lefts are failed items')
  }
  // The same flow opened again, values() twice, and a stage after it.
  assert.equal(await drain(flow), [0, 20, 40])
  assert.equal(await drain(pipe(flow, values())), [0, 20, 40])
  assert.equal(await drain(pipe(flow, pool((n: number) => n + 1, { ordered: true }), values())), [1, 21, 41])
})

test.run()
