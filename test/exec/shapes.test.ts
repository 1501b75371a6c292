import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { anchoredShapes } from '../../src/exec/shapes.js'
import { StageFlow } from '../../src/exec/engine/stage-flow.js'
import { pipe, pool, values } from '../../src/index.js'
import { assertNoLeaks, drain, baseline } from '../_helpers.js'

test('the first pool() runs the shape anchor once: it finishes, holds only its own values, and leaves nothing running', async () => {
  assert.is(anchoredShapes(), undefined, 'nothing runs before a pipeline is composed')
  const before = await baseline()
  const flow = pipe([1, 2, 3], pool(async (n: number) => n * 2), values())
  const anchoring = anchoredShapes()
  assert.ok(anchoring !== undefined, 'composing a pool schedules the anchor')
  const held = await anchoring
  // Its flow, its finished iterator, the three values of its own source and the drain of its own run: no user data.
  assert.ok(held[0] instanceof StageFlow, 'the flow the anchor was built as')
  assert.equal(held.slice(2, 5), [0, 1, 2])
  assert.is(held.length, 6)
  const again = pipe([4], pool((n: number) => n))
  assert.is(anchoredShapes(), anchoring, 'only once per process')
  assert.equal(await drain(flow), [2, 4, 6])
  assert.equal((await drain(again)).length, 1)
  await assertNoLeaks(before, 'after the anchor and two runs')
})

test.run()
