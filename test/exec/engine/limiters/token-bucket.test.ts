import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TokenBucket } from '../../../../src/exec/engine/limiters/token-bucket.js'

/** Takes every token there is at `now` (the bucket's clock is the argument: no real time passes). */
function takeAll(bucket: TokenBucket, now: number): number {
  let taken = 0
  while (bucket.take(now, true)) taken++
  return taken
}

test('token bucket: at 500/s with a burst of 10, a wake-up waits for a whole burst (one group of 10 every ~20 ms, as p-throttle windows)', () => {
  const bucket = new TokenBucket(500, 10)
  assert.is(takeAll(bucket, 0), 10, 'the burst at once')
  const wait = bucket.waitMs(0)
  // 10 tokens at 495/s (the rate less the late-timer slack) take 20.2 ms; 9 of them (a group one short) 18.2 ms.
  assert.ok(wait >= 20 && wait <= 20.5, `waits ${wait.toFixed(2)} ms for the group`)
  assert.is(takeAll(bucket, wait + 0.01), 10, 'the group the wake-up finds')
})

test('token bucket: a group is what accrues in ~20 ms, so a slow rate wakes for each token (a start never waits a whole burst)', () => {
  const bucket = new TokenBucket(10, 10)
  takeAll(bucket, 0)
  const wait = bucket.waitMs(0)
  // One token at 9.9/s: ~101 ms, not the second a burst of 10 would take.
  assert.ok(wait > 100 && wait < 102, `waits ${wait.toFixed(2)} ms for one token`)
  assert.is(takeAll(bucket, wait + 0.01), 1)
})

test('token bucket: at a high rate a group is capped at the burst', () => {
  const bucket = new TokenBucket(20_000, 20)
  takeAll(bucket, 0)
  const wait = bucket.waitMs(0)
  // 20 tokens at 19,800/s: ~1.01 ms.
  assert.ok(wait > 1 && wait < 1.05, `waits ${wait.toFixed(3)} ms`)
  assert.is(takeAll(bucket, wait + 0.01), 20)
})

test.run()
