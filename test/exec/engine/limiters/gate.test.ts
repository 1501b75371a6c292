import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { StageGate } from '../../../../src/exec/engine/limiters/gate.js'
import { StageStats } from '../../../../src/exec/stats.js'
import { deferred, withTimeout } from '../../../_helpers.js'

const stage = () => ({ name: 'api', slots: 4, stats: new StageStats('api'), signal: new AbortController().signal })

/** Runs `body` with `performance.now` answering `readings` in turn, then the real clock again. */
function withClock<T>(readings: number[], body: () => T): T {
  const real = performance.now.bind(performance)
  const queue = readings.slice()
  performance.now = () => (queue.length > 0 ? queue.shift()! : real())
  try {
    return body()
  } finally {
    performance.now = real
  }
}

test('a token that accrues between the refused start and the timer being set still wakes the waiting attempt', async () => {
  const gate = new StageGate({ adaptive: undefined, rate: { perSecond: 1_000, burst: 1 } }, stage())
  const admitted = deferred()
  const waiting = { admit: () => admitted.resolve() }
  withClock([0, 0.5, 2], () => {
    assert.ok(gate.acquire({ admit() {} }), 'the burst token')
    // Refused at 0.5 ms (half a token), but by the time the wake-up is planned (2 ms) a token is there.
    assert.not.ok(gate.acquire(waiting), 'parked')
  })
  await withTimeout(admitted.promise, 500, 'the parked attempt admitted')
  gate.close()
})

test('a closed gate leaves no timer behind, and cancelling the last parked attempt clears its wake-up', async () => {
  const gate = new StageGate({ adaptive: undefined, rate: { perSecond: 0.01, burst: 1 } }, stage())
  assert.ok(gate.acquire({ admit() {} }))
  const ticket = { admit: () => assert.unreachable('a cancelled ticket is never admitted') }
  assert.not.ok(gate.acquire(ticket))
  gate.cancel(ticket)
  // With the timer cleared, nothing keeps the event loop busy: a 100 s wait would otherwise hold it.
  const handles = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout')
  assert.is(handles.length, 0, 'no timer left')
  gate.close()
})

test.run()
