// The adaptive limit's two promises (README, Guarantees → Limits): it stays in
// [min, max], and it changes only when a sampling window ends. Checked on the
// controller itself over random event sequences: admissions, successes of any
// latency, overloads, and the clock moving by any amount between settles.
// A failure prints fast-check's seed; re-run it with PROPERTY_SEED=<seed>.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { AdaptiveLimit } from '../../../../src/exec/engine/limiters/adaptive.js'

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200)
const SEED = process.env.PROPERTY_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.PROPERTY_SEED)

type Event =
  | { kind: 'admit'; running: number }
  | { kind: 'succeed'; latencyMs: number }
  | { kind: 'overload' }
  | { kind: 'settle'; afterMs: number }

const latency = fc.oneof(fc.double({ min: 0, max: 2, noNaN: true }), fc.double({ min: 2, max: 500, noNaN: true }))

/**
 * A stretch of traffic, then a settle: some admissions (at any concurrency), their
 * outcomes (successes from a fast service to one far slower than any window, and
 * overloads), and the clock moving by any amount, often past a window's end.
 */
const stretch: fc.Arbitrary<Event[]> = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 40 }),
    fc.array(latency, { maxLength: 40 }),
    fc.integer({ min: 0, max: 6 }),
    fc.oneof(fc.constant(0), fc.double({ min: 0, max: 60, noNaN: true }), fc.double({ min: 60, max: 3_000, noNaN: true })),
    fc.boolean(),
  )
  .map(([admits, latencies, overloads, afterMs, interleave]) => {
    const traffic: Event[] = [
      ...admits.map((running) => ({ kind: 'admit' as const, running })),
      ...latencies.map((latencyMs) => ({ kind: 'succeed' as const, latencyMs })),
      ...Array.from({ length: overloads }, () => ({ kind: 'overload' as const })),
    ]
    // Admissions first, or outcomes mixed in among them (an outcome of an earlier stretch's attempt).
    if (interleave) traffic.sort((a, b) => (a.kind === b.kind ? 0 : (a.kind.length * 7 + b.kind.length) % 3) - 1)
    return [...traffic, { kind: 'settle' as const, afterMs }]
  })

const bounds = fc
  .tuple(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 0, max: 300 }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([min, span, at]) => ({ min, max: min + span, initial: min + Math.floor(span * at) }))

test('an adaptive limit stays in [min, max] and changes only when a sampling window ends', () => {
  let windowsEnded = 0
  let changes = 0
  fc.assert(
    fc.property(bounds, fc.array(stretch, { minLength: 1, maxLength: 60, size: "medium" }), ({ min, max, initial }, stretches) => {
      const limit = new AdaptiveLimit({ min, max, initial })
      let now = 1_000
      for (const e of stretches.flat()) {
        const before = { limit: limit.limit, current: limit.current, windows: limit.windows }
        let changed = false
        if (e.kind === 'admit') limit.admitted(e.running, now)
        else if (e.kind === 'succeed') limit.succeeded(e.latencyMs, now)
        else if (e.kind === 'overload') limit.overloaded()
        else {
          now += e.afterMs
          changed = limit.settle(now)
        }
        const ended = limit.windows !== before.windows
        if (ended) windowsEnded++
        if (limit.current !== before.current) changes++
        assert.ok(limit.limit >= min && limit.limit <= max, `limit ${limit.limit} outside [${min}, ${max}]`)
        assert.ok(limit.current >= min && limit.current <= max, `limit in effect ${limit.current} outside [${min}, ${max}]`)
        assert.ok(Number.isInteger(limit.current), `limit in effect ${limit.current} is not a whole number of attempts`)
        if (!ended) {
          assert.is(limit.current, before.current, `the limit in effect changed on \`${e.kind}\` with no window ended`)
          assert.is(limit.limit, before.limit, `the limit changed on \`${e.kind}\` with no window ended`)
        }
        assert.is(changed, limit.current !== before.current, 'settle() reports whether the limit in effect changed')
        if (e.kind !== 'settle') assert.is(ended, false, `a window ended on \`${e.kind}\``)
      }
    }),
    { numRuns: RUNS, seed: SEED },
  )
  // The sequences exercised the controller: windows ended and the limit moved (else the property says nothing).
  assert.ok(windowsEnded > 5 * RUNS, `only ${windowsEnded} windows ended over ${RUNS} runs`)
  assert.ok(changes > RUNS / 4, `the limit moved only ${changes} times over ${RUNS} runs`)
})

test.run()
