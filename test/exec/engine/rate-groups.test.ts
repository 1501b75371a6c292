import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isRight, pipe, pool } from '../../../src/index.js'
import { drain, range } from '../../_helpers.js'

/** Start times split where more than `gapMs` passes between two starts. */
function groups(at: number[], gapMs: number): number[] {
  const sorted = at.slice().sort((a, b) => a - b)
  const sizes: number[] = []
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i]! - sorted[i - 1]! > gapMs) sizes.push(0)
    sizes[sizes.length - 1]!++
  }
  return sizes
}

test('rate: at 500/s with a burst of 10, attempts start in groups of a whole burst (one event-loop wake-up per 10 starts, not per 9)', async () => {
  const perSecond = 500
  const burst = 10
  const at: number[] = []
  const handler = async (n: number): Promise<number> => {
    at.push(performance.now())
    await new Promise((resolve) => setTimeout(resolve, 1))
    return n
  }
  const n = burst + 30 * burst
  const out = await drain(pipe(range(n), pool(handler, { concurrency: 16, rate: { perSecond, burst } })))
  assert.is(out.filter(isRight).length, n)
  // Groups are ~20 ms apart; the starts of one group are within a millisecond or two.
  const sizes = groups(at, 5)
  // The burst, then 30 groups of 10 (a late timer makes a group bigger and the count smaller);
  // groups of 9 (the wake-up planned one token short of a burst) would take 34.
  assert.ok(sizes.length <= 32, `${sizes.length} groups: ${sizes.join(' ')}`)
  // A group never holds more than the bucket: the burst and the late-timer slack (10 ms of tokens).
  assert.ok(Math.max(...sizes) <= burst + 5, `largest group ${Math.max(...sizes)}`)
})

test.run()
