import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SimServer } from '../../../bench/sim-server.js'
import { adaptiveRun, span } from './limiters/adaptive-settle.js'

/*
 * The simulated service's capacity halves 1.2 s into the run (once the stage has
 * settled at C): within 2 s the stage follows, every reported limit from 2 s to
 * 2.5 s after the change between C/4 and C (the new C/2 and 2C), and the service
 * refuses nothing in that span.
 */
for (const C of [4, 16, 64]) {
  test(`adaptive concurrency follows the service when its capacity halves mid-run, within 2 s (C = ${C} → ${C / 2})`, async () => {
    const server = new SimServer(C)
    const { samples, atMs } = await adaptiveRun(server, 1, 3_700, { ms: 1_200, then: () => (server.capacity = C / 2) })
    assert.ok(atMs >= 1_200, 'the capacity changed mid-run')
    const before = span(samples, atMs - 500, atMs)
    const after = span(samples, atMs + 2_000, atMs + 2_500)
    const where = `C=${C}→${C / 2} at ${atMs.toFixed(0)} ms: ${after.trace}`
    assert.ok(before.max >= C / 2, `settled near C before the change (${before.min}..${before.max}) — ${where}`)
    assert.ok(after.count >= 5, `progress samples in the window (${after.count})`)
    assert.ok(after.min >= C / 4 && after.max <= C, `limits ${after.min}..${after.max} within [${C / 4}, ${C}] — ${where}`)
    assert.is(after.refused, 0, `no refusals once it followed — ${where}`)
  })
}

test.run()
