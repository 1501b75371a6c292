import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { map } from 'ix/asynciterable/operators/map'
import { collect, orThrow, pipe, pool, run, values, PipelineError, StageError, type Either } from '../../src/index.js'
import { withTimeout } from '../_helpers.js'

/** A handler that records which items it was called for; item 1 fails after `ms`, the others succeed at once. */
function firstFails(ms = 30) {
  const calls: number[] = []
  const handler = (n: number) => {
    calls.push(n)
    if (n !== 1) return n
    return new Promise<number>((_, reject) => setTimeout(() => reject(new Error('item 1 fails')), ms))
  }
  return { calls, handler }
}

const items = [1, 2, 3, 4]

test('run with failFast: once an item fails, no handler starts for another item', async () => {
  const { calls, handler } = firstFails()
  const result = await withTimeout(run(pipe(items, pool(handler, 1)), { failFast: true }), 2_000)
  assert.is(result._tag, 'Left')
  assert.is((result as { left: PipelineError }).left.kind, 'failed')
  assert.equal(calls, [1], 'item 2 was never handed to the handler')
})

test('collect with failFast: once an item fails, no handler starts for another item', async () => {
  const { calls, handler } = firstFails()
  const result = await withTimeout(collect(pipe(items, pool(handler, { concurrency: 1, buffer: 3 })), { failFast: true }), 2_000)
  assert.is(result._tag, 'Left')
  assert.equal(calls, [1])
})

test('failFast with values(): the dropped Left ends the run before another item starts', async () => {
  const { calls, handler } = firstFails()
  const result = await withTimeout(run(pipe(items, pool(handler, 1), values()), { failFast: true }), 2_000)
  assert.is(result._tag, 'Left')
  assert.equal(calls, [1])
})

test('failFast behind an IxJS operator: no handler starts for another item', async () => {
  const { calls, handler } = firstFails()
  const result = await withTimeout(run(pipe(items, pool(handler, 1), map((e: Either<StageError, number>) => e)), { failFast: true }), 2_000)
  assert.is(result._tag, 'Left')
  assert.equal(calls, [1])
})

test('failFast: a stage below the failing one starts nothing more either', async () => {
  const first = firstFails()
  const after: number[] = []
  const flow = pipe(
    items,
    pool((n: number) => n, 1),
    pool(first.handler, 1),
    pool((n: number) => {
      after.push(n)
      return n
    }, 1),
  )
  const result = await withTimeout(run(flow, { failFast: true }), 2_000)
  assert.is(result._tag, 'Left')
  assert.equal(first.calls, [1], 'the failing stage started no other item')
  assert.equal(after, [], 'the stage below got nothing: its one input was the Left')
})

test('orThrow() under for await: the first Left is thrown before another item starts', async () => {
  const { calls, handler } = firstFails()
  const seen: number[] = []
  let thrown: unknown
  try {
    for await (const n of pipe(items, pool(handler, 1), orThrow())) seen.push(n)
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof StageError, `expected the StageError, got ${String(thrown)}`)
  assert.equal(seen, [])
  assert.equal(calls, [1], 'item 2 was never handed to the handler')
})

test('orThrow() with a stage in between: no handler starts for another item', async () => {
  const { calls, handler } = firstFails()
  let thrown: unknown
  try {
    for await (const _ of pipe(items, pool(handler, 1), pool((n: number) => n, 2), orThrow())) void _
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof StageError)
  assert.equal(calls, [1])
})

test('without failFast a Left ends nothing: every item runs', async () => {
  const { calls, handler } = firstFails(5)
  const result = await withTimeout(collect(pipe(items, pool(handler, 1))), 2_000)
  assert.is(result._tag, 'Right')
  assert.equal(calls, items)
})

test.run()
