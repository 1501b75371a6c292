import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SimServer } from '../../../bench/sim-server.js'
import { adaptiveRun, span } from './limiters/adaptive-settle.js'

/*
 * Against a simulated service (4 ms per call while at most C are in flight,
 * queued beyond C, 503 beyond 3C), an adaptive pool started far below (1) or far
 * above (256) settles between C/2 and 2C within 2 s: from 2.0 s to 2.6 s every
 * reported limit is in that range, the server refuses nothing, and the stage
 * keeps the service busy (at least half its capacity's throughput).
 */
for (const C of [4, 16, 64]) {
  for (const initial of [1, 256]) {
    test(`adaptive concurrency from initial ${initial} settles between C/2 and 2C within 2 s (C = ${C})`, async () => {
      const server = new SimServer(C)
      const { samples } = await adaptiveRun(server, initial, 2_600)
      const settled = span(samples, 2_000, 2_600)
      const where = `C=${C} initial=${initial}: ${settled.trace}`
      assert.ok(settled.count >= 5, `progress samples in the window (${settled.count})`)
      assert.ok(settled.min >= C / 2 && settled.max <= 2 * C, `limits ${settled.min}..${settled.max} within [${C / 2}, ${2 * C}] — ${where}`)
      assert.is(settled.refused, 0, `no refusals once settled — ${where}`)
      const capacityCalls = (C / server.latencyMs) * settled.ms
      assert.ok(settled.calls >= capacityCalls / 2, `${settled.calls} calls in ${settled.ms.toFixed(0)} ms, capacity ${capacityCalls.toFixed(0)} — ${where}`)
      if (initial === 256) assert.ok(server.refused > 0, 'starting at 256 overloads the service at first (the test would show nothing otherwise)')
    })
  }
}

test.run()
