import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pipe, pool, values } from '../../src/index.js'
import { drain } from '../_helpers.js'

test('a one-stage pipeline doubles numbers', async () => {
  const out = await drain(pipe([1, 2, 3], pool((x: number) => x * 2, { ordered: true }), values()))
  assert.equal(out, [2, 4, 6])
})

test.run()
