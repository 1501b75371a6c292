/**
 * The speed targets of issue 5 (point 4) and issue 4, checked against one run's results.
 */
import { rateOf, type ScenarioResult } from './harness.js'
import { MEMORY_GROWTH_LIMIT, MEMORY_PEAK_LIMIT_MB, memoryGrowth, type MemoryRow } from './memory.js'
import { BATCH } from './cpu.js'
import { FLOOR_ROW, GENERATOR_ROW, REFERENCE_DEPTH, RUN_ROW, depthOf, leastFlatness, perStage } from './depth.js'

/** Issue 12 point 5: across depths, pipevine's time per item per stage stays within this factor of its 3-stage figure. */
export const DEPTH_FLATNESS = 1.25

export interface TargetResult {
  scenario: string
  target: string
  /** What was measured, as text. */
  measured: string
  /** true: met; false: missed; null: could not be measured in this run. */
  met: boolean | null
  /** How far from the target, as text, when missed. */
  gap?: string
}

/** How many times the throughput of `other` that `name` has in `result`, or NaN. */
function speedup(result: ScenarioResult, name: string, other: string): number {
  const a = result.rows.find((row) => row.name === name)
  const b = result.rows.find((row) => row.name === other)
  return a && b && Number.isFinite(a.median) && Number.isFinite(b.median) ? rateOf(a) / rateOf(b) : NaN
}

function bestPeer(result: ScenarioResult): string | undefined {
  let best: { name: string; rate: number } | undefined
  for (const row of result.rows) if (row.kind === 'peer' && Number.isFinite(row.median) && (!best || rateOf(row) > best.rate)) best = { name: row.name, rate: rateOf(row) }
  return best?.name
}

function ratioTarget(result: ScenarioResult, other: string, min: number, label = `≥ ${min}× ${other}`, subject = 'pipevine'): TargetResult {
  const value = speedup(result, subject, other)
  const out: TargetResult = { scenario: scenarioLabel(result, subject), target: label, measured: Number.isFinite(value) ? `${value.toFixed(2)}×` : unmeasured(result, other, subject), met: null }
  if (!Number.isFinite(value)) return out
  out.met = value >= min
  if (!out.met) out.gap = `${(((min - value) / min) * 100).toFixed(1)}% short`
  return out
}

function aheadOfPeers(result: ScenarioResult, subject = 'pipevine'): TargetResult {
  const peer = bestPeer(result)
  const value = peer ? speedup(result, subject, peer) : NaN
  const out: TargetResult = { scenario: scenarioLabel(result, subject), target: 'ahead of every peer', measured: '', met: null }
  if (peer === undefined) {
    out.measured = 'no peer ran'
    return out
  }
  if (!Number.isFinite(value)) {
    out.measured = unmeasured(result, subject, subject)
    return out
  }
  out.measured = `${value.toFixed(2)}× best peer (${peer})`
  out.met = value > 1
  if (!out.met) out.gap = `${peer} is ${((1 / value - 1) * 100).toFixed(1)}% faster`
  return out
}

/** The scenario's name, marked when the row judged isn't the main pipevine row. */
function scenarioLabel(result: ScenarioResult, subject: string): string {
  return subject === 'pipevine' ? result.name : `${result.name} (${subject.replace(/^pipevine \((.*)\)$/, '$1')})`
}

function unmeasured(result: ScenarioResult, other: string, subject = 'pipevine'): string {
  const pv = result.rows.find((row) => row.name === subject)
  if (pv && !Number.isFinite(pv.median)) return `${subject}: ${pv.problem ?? 'no result'}`
  const row = result.rows.find((r) => r.name === other)
  return `${other}: ${row?.problem ?? 'no result'}`
}

export function evaluateTargets(results: ScenarioResult[], memory: MemoryRow[]): TargetResult[] {
  const targets: TargetResult[] = []
  const by = new Map(results.map((r) => [r.name, r]))
  const with_ = (name: string, fn: (r: ScenarioResult) => void): void => {
    const result = by.get(name)
    if (result) fn(result)
  }
  with_('overhead', (r) => {
    targets.push(ratioTarget(r, 'async generator chain', 1.0), aheadOfPeers(r))
    targets.push(ratioTarget(r, 'plain for loop', 0.5, 'aim: ≥ 0.5× plain for loop'))
  })
  for (const name of ['io-pool', 'io-pool-ordered']) with_(name, (r) => targets.push(ratioTarget(r, 'hand-written pool', 0.97), aheadOfPeers(r)))
  with_('io-pool-cheap', (r) => targets.push(ratioTarget(r, 'hand-written pool', 0.8), aheadOfPeers(r)))
  with_('retry-storm', (r) => targets.push(aheadOfPeers(r)))
  with_('fork-merge', (r) => targets.push(aheadOfPeers(r)))
  with_('cpu-pool', (r) => targets.push(ratioTarget(r, 'piscina', 1.0), ratioTarget(r, 'single-thread loop', 1.9), aheadOfPeers(r)))
  with_('cpu-small', (r) => targets.push(ratioTarget(r, 'piscina', 3.5), ratioTarget(r, `hand-rolled batched pool (${BATCH}/msg)`, 0.9), aheadOfPeers(r)))
  with_('many-runs', (r) => targets.push(aheadOfPeers(r)))
  const reference = results.find((r) => r.name === `depth-${REFERENCE_DEPTH}`)
  for (const r of results.filter((result) => result.name.startsWith('depth-'))) {
    for (const subject of ['pipevine', RUN_ROW]) {
      if (depthOf(r) === 10) targets.push(ratioTarget(r, GENERATOR_ROW, 1.0, `≥ 1× ${GENERATOR_ROW}`, subject))
      targets.push(aheadOfPeers(r, subject))
      if (reference && r !== reference) targets.push(flatness(r, reference, subject))
    }
  }

  if (memory.length > 0) {
    const { small, large, growth } = memoryGrowth(memory, 'pipevine')
    const constant: TargetResult = { scenario: 'memory', target: `constant: larger peak ≤ ${MEMORY_GROWTH_LIMIT}× smaller`, measured: '', met: null }
    if (small && large && Number.isFinite(growth)) {
      constant.measured = `${small.result!.peakRssMB.toFixed(1)} → ${large.result!.peakRssMB.toFixed(1)} MB (${growth >= 1 ? '+' : ''}${((growth - 1) * 100).toFixed(1)}%)`
      constant.met = growth <= MEMORY_GROWTH_LIMIT
      if (!constant.met) constant.gap = `grew ${((growth - 1) * 100).toFixed(1)}%, limit ${((MEMORY_GROWTH_LIMIT - 1) * 100).toFixed(0)}%`
    } else constant.measured = 'pipevine did not complete both sizes'
    const peak = Math.max(...memory.filter((row) => row.impl === 'pipevine' && row.result).map((row) => row.result!.peakRssMB))
    const under: TargetResult = { scenario: 'memory', target: `peak RSS < ${MEMORY_PEAK_LIMIT_MB} MB`, measured: Number.isFinite(peak) ? `${peak.toFixed(1)} MB` : 'no result', met: Number.isFinite(peak) ? peak < MEMORY_PEAK_LIMIT_MB : null }
    if (under.met === false) under.gap = `${(peak - MEMORY_PEAK_LIMIT_MB).toFixed(1)} MB over`
    targets.push(constant, under)
  }
  return targets
}

/** The time per item per stage of `subject` at this depth, against its 3-stage figure. */
function flatness(result: ScenarioResult, reference: ScenarioResult, subject: string): TargetResult {
  const us = perStage(result, subject)
  const ref = perStage(reference, subject)
  const out: TargetResult = { scenario: scenarioLabel(result, subject), target: `per stage ≤ ${DEPTH_FLATNESS}× its ${REFERENCE_DEPTH}-stage figure`, measured: '', met: null }
  if (!Number.isFinite(us) || !Number.isFinite(ref)) {
    out.measured = unmeasured(result, subject, subject)
    return out
  }
  const value = us / ref
  out.measured = `${us.toFixed(3)} µs vs ${ref.toFixed(3)} µs (${value.toFixed(2)}×)`
  // Read by `for await`, the loop's floor sets a least ratio (see leastFlatness): shown beside, the target unchanged.
  const floor = subject === RUN_ROW ? NaN : perStage(result, FLOOR_ROW)
  if (Number.isFinite(floor)) out.measured += `; least possible with that 3-stage figure: ${leastFlatness(floor, ref).toFixed(2)}×`
  out.met = value <= DEPTH_FLATNESS
  if (!out.met) out.gap = `${(((value - DEPTH_FLATNESS) / DEPTH_FLATNESS) * 100).toFixed(1)}% over`
  return out
}

export function targetsTable(targets: TargetResult[]): string {
  const lines = ['| scenario | target | measured | result |', '| --- | --- | --- | --- |']
  for (const t of targets) lines.push(`| ${t.scenario} | ${t.target} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'met' : `**missed** (${t.gap ?? ''})`} |`)
  return lines.join('\n')
}
