// The depth table's `for await` floor (issue 12, point 5): the least depth-1 ÷ 3-stage
// ratio a `for await` read allows, shown beside the target, which stays as it is.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FLOOR_ROW, RUN_ROW, depthTable, leastFlatness } from '../../bench/depth.js'
import type { Row, ScenarioResult } from '../../bench/harness.js'
import { evaluateTargets } from '../../bench/targets.js'

const ITEMS = 100_000

/** A row whose median makes `usPerItem` µs per item. */
function row(name: string, usPerItem: number): Row {
  const median = (usPerItem * ITEMS) / 1000
  return { name, kind: name === 'pipevine' || name === RUN_ROW ? 'pipevine' : 'baseline', items: ITEMS, times: [median], median, min: median, max: median, verified: true } as Row
}

function depth(stages: number, pipevineUsPerItem: number, floorUs?: number): ScenarioResult {
  const rows = [row('async generator chain', 0.3 * stages), row('it-pipe + it-map', 0.15 * stages), row('pipevine', pipevineUsPerItem), row(RUN_ROW, pipevineUsPerItem)]
  if (floorUs !== undefined) rows.push(row(FLOOR_ROW, floorUs))
  return { name: `depth-${stages}`, description: '', items: ITEMS, ordered: true, baseline: 'async generator chain', rows, notes: [], wallMs: 0 }
}

test('the least ratio is one plus two thirds of the floor over the 3-stage figure', () => {
  assert.ok(Math.abs(leastFlatness(0.04, 0.1) - (1 + 0.08 / 0.3)) < 1e-12)
  // Over 1.25 exactly when a stage (3-stage figure) is cheaper than 8/3 of the floor.
  assert.ok(leastFlatness(0.04, (8 / 3) * 0.04 - 1e-6) > 1.25)
  assert.ok(leastFlatness(0.04, (8 / 3) * 0.04 + 1e-6) < 1.25)
})

test('the depth table states the floor and the least ratio it allows, from the measured rows', () => {
  const table = depthTable([depth(1, 0.14, 0.04), depth(3, 0.3)])
  assert.match(table, /floor \(an iterator that only returns `Promise\.resolve`d results\): 0\.040 µs per item/)
  assert.match(table, /3-stage figure of 0\.100 µs no chain can show depth 1 ÷ 3-stage below 1\.27 /)
})

test('without a floor row (a run of other depths) the table has no floor line', () => {
  assert.not.match(depthTable([depth(3, 0.3), depth(5, 0.5)]), /floor/)
})

test('the depth-1 `for await` target shows the least ratio beside it and is judged as before', () => {
  const targets = evaluateTargets([depth(1, 0.14, 0.04), depth(3, 0.3)], [])
  const flat = targets.filter((t) => t.target.startsWith('per stage'))
  const forAwait = flat.find((t) => t.scenario === 'depth-1')!
  const run = flat.find((t) => t.scenario === 'depth-1 (run)')!
  assert.is(forAwait.measured, '0.140 µs vs 0.100 µs (1.40×); least possible with that 3-stage figure: 1.27×')
  assert.is(forAwait.met, false)
  assert.is(run.measured, '0.140 µs vs 0.100 µs (1.40×)')
  assert.is(run.met, false)
})

test.run()
