/**
 * The measuring harness: every implementation of a scenario runs in the same
 * process, once to warm up and then in rotating order for `runs` rounds; each
 * run's output is checked (count, sum, and for ordered scenarios an
 * order-sensitive hash) against a reference, so a broken implementation is
 * reported as broken instead of fast.
 */
import { cpus } from 'node:os'

/** What an implementation's output must match. */
export interface Check {
  count: number
  /** Sum of the output values (order-independent). */
  sum: number
  /** Rolling hash of the output values in order (compared only when the scenario is ordered). */
  hash: number
}

/** Accumulates a Check from the values an implementation emits. */
export class Checker implements Check {
  count = 0
  /** -0, not 0: a double from the start (see the layout anchor below); `-0 === 0`, and -0 + x is x. */
  sum = -0
  hash = 0
  add(value: number): void {
    this.count++
    this.sum += value
    this.hash = (Math.imul(this.hash, 31) + value) | 0
  }
  result(): Check {
    return { count: this.count, sum: this.sum, hash: this.hash }
  }
}

/*
 * Every implementation's consumer is a Checker. A `sum` that started as a small
 * integer would outgrow it within a run and change the class's field layout; and
 * the harness's full GC before each run, with no Checker left alive, can drop a
 * layout, so a run would deoptimise the consumer loop it was inlined into partway
 * through (whichever implementation's that was). `sum` starts as a double, and one
 * Checker kept alive keeps its layout across GCs, for every row alike. Exported:
 * a module-level `const` that no function reads lives only while the module body
 * runs (V8 keeps it on the stack, not in the module's context), and the first GC
 * took this one, and with it the layout (V8 then deoptimised `add` at every GC).
 */
export const layoutAnchor = new Checker()
layoutAnchor.add(2 ** 40)

/** The Check of `values` in order. */
export function checkOf(values: Iterable<number>): Check {
  const checker = new Checker()
  for (const value of values) checker.add(value)
  return checker.result()
}

export type Kind = 'baseline' | 'pipevine' | 'peer'

export interface Impl {
  name: string
  kind: Kind
  /** Runs the whole scenario on `n` items and returns what came out. */
  run(n: number): Promise<Check>
  /** Set when this implementation cannot run here (shown in the table instead of numbers). */
  unavailable?: string
  /** A short remark shown in the notes under the table. */
  note?: string
  /** Measured on fewer items when too slow for the time budget, as peers are (a cold-start row). */
  scaled?: boolean
}

export interface Scenario {
  name: string
  /** One line for the table's heading. */
  description: string
  /** Items in the full run and in `--quick`. */
  items: number
  quickItems: number
  /** Whether output order is part of correctness. */
  ordered: boolean
  /** Name of the row that ratios are taken against. */
  baseline: string
  /** The best possible time in ms for `n` items, where there is one. */
  ideal?: (n: number) => number
  /** What correct output is; when absent the `reference` implementation's own run defines it. */
  expected?: (n: number) => Check
  /** Trusted implementation whose output defines `expected` (a direct, plain computation). */
  reference?: string
  impls: Impl[]
  /** Overrides the run's `peerCapMs` (e.g. where every implementation is bound by timers). */
  peerCapMs?: number
  /** Per-scenario notes printed under the table. */
  notes?: string[]
  /** Set up before and tear down after the scenario (e.g. shared resources). */
  before?: () => Promise<void> | void
  after?: () => Promise<void> | void
}

export interface RunOptions {
  runs: number
  quick: boolean
  /** Bound on one run, ms: a run that takes longer is reported as timed out. */
  runTimeoutMs: number
  /** Items of the warm-up run, as a share of the full size. */
  warmupShare: number
  /** Run a full GC before each run (needs --expose-gc). */
  gc: boolean
  /**
   * A peer whose full-size run would take longer than this (judged from its
   * warm-up) runs at a size that fits instead, and its row says so. Baselines
   * and pipevine always run at full size. Infinity: no cap.
   */
  peerCapMs: number
  log: (line: string) => void
}

export interface Row {
  name: string
  kind: Kind
  /** Items per measured run (the scenario's size, or less for a capped peer). */
  items: number
  /** What a full-size run was predicted to take, ms, when the row was scaled down. */
  predictedMs?: number
  /** ms of each measured run. */
  times: number[]
  median: number
  min: number
  max: number
  verified: boolean
  /** Why there are no numbers (error, wrong output, or the reason it can't run). */
  problem?: string
  /** The implementation can't run this scenario (not a failure). */
  unavailable?: boolean
  note?: string
}

export interface ScenarioResult {
  name: string
  description: string
  items: number
  ordered: boolean
  baseline: string
  idealMs?: number
  rows: Row[]
  notes: string[]
  wallMs: number
}

const gc = (globalThis as { gc?: () => void }).gc

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Rounds down to two significant digits (37,412 → 37,000). */
function roundDown(value: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(Math.max(1, value))) - 1)
  return Math.max(1, Math.floor(value / unit) * unit)
}

function sameCheck(got: Check, want: Check, ordered: boolean): string | undefined {
  if (got.count !== want.count) return `count ${got.count}, expected ${want.count}`
  if (got.sum !== want.sum) return `checksum ${got.sum}, expected ${want.sum}`
  if (ordered && got.hash !== want.hash) return `order hash ${got.hash}, expected ${want.hash} (output out of order)`
  return undefined
}

async function timed(impl: Impl, n: number, timeoutMs: number, collect: boolean): Promise<{ ms: number; check: Check }> {
  if (collect) gc?.()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
  })
  const started = performance.now()
  try {
    const check = await Promise.race([impl.run(n), timeout])
    return { ms: performance.now() - started, check }
  } finally {
    clearTimeout(timer)
  }
}

/** Runs one scenario: reference, warm-up, then `runs` rounds in rotating order. */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const started = performance.now()
  const n = options.quick ? scenario.quickItems : scenario.items
  const warmN = Math.max(1, Math.round(n * options.warmupShare))
  const rows = new Map<string, Row>()
  const live: Impl[] = []
  for (const impl of scenario.impls) {
    const row: Row = { name: impl.name, kind: impl.kind, items: n, times: [], median: NaN, min: NaN, max: NaN, verified: false }
    if (impl.note !== undefined) row.note = impl.note
    rows.set(impl.name, row)
    if (impl.unavailable !== undefined) {
      row.problem = impl.unavailable
      row.unavailable = true
    } else live.push(impl)
  }
  const fail = (impl: Impl, problem: string): void => {
    rows.get(impl.name)!.problem = problem
    const at = live.indexOf(impl)
    if (at >= 0) live.splice(at, 1)
    options.log(`  ✗ ${impl.name}: ${problem}`)
  }

  await scenario.before?.()
  try {
    // What correct output is, at the warm-up size and the measured size: from
    // `expected()`, or from the reference implementation, which runs first.
    const expected = new Map<number, Check>()
    const reference = scenario.expected ? undefined : scenario.impls.find((impl) => impl.name === scenario.reference)
    if (!scenario.expected && (reference === undefined || reference.unavailable !== undefined)) {
      throw new Error(`${scenario.name}: no expected() and no usable reference implementation`)
    }
    if (reference !== undefined) live.sort((a, b) => Number(b === reference) - Number(a === reference))

    const attempt = async (impl: Impl, size: number, measured: boolean): Promise<number | undefined> => {
      try {
        let want = expected.get(size)
        if (want === undefined && scenario.expected) expected.set(size, (want = scenario.expected(size)))
        const { ms, check } = await timed(impl, size, options.runTimeoutMs, options.gc)
        if (want === undefined) {
          if (impl !== reference) throw new Error('internal: the reference must run first')
          expected.set(size, (want = check))
        }
        const wrong = sameCheck(check, want, scenario.ordered)
        if (wrong !== undefined) {
          fail(impl, `wrong output: ${wrong}`)
          return undefined
        }
        const row = rows.get(impl.name)!
        row.verified = true
        if (measured) row.times.push(ms)
        return ms
      } catch (error) {
        fail(impl, `error: ${(error as Error)?.message ?? String(error)}`)
        return undefined
      }
    }

    // Warm-up: every implementation once (JIT, lazy module state, thread start-up paths); none in --quick.
    // A peer too slow for the time budget is then measured on fewer items (never below the warm-up size).
    if (!options.quick) {
      for (const impl of [...live]) {
        const ms = await attempt(impl, warmN, false)
        if (ms === undefined || (impl.kind !== 'peer' && impl.scaled !== true) || !scenario.expected) continue
        const cap = scenario.peerCapMs ?? options.peerCapMs
        if ((ms * n) / warmN <= cap) continue
        // Too slow for full size at first sight: a second probe at twice the size separates a
        // fixed cost (thread start-up) from the cost per item before deciding on a size.
        const probeN = Math.min(n, 2 * warmN)
        const ms2 = await attempt(impl, probeN, false)
        if (ms2 === undefined || probeN === warmN) continue
        let perItem = (ms2 - ms) / (probeN - warmN)
        let fixed = ms2 - perItem * probeN
        if (!(perItem > 0) || fixed < 0) {
          perItem = ms2 / probeN
          fixed = 0
        }
        const predicted = fixed + perItem * n
        if (predicted <= cap) continue
        const row = rows.get(impl.name)!
        row.items = Math.min(n, Math.max(warmN, roundDown((cap - fixed) / perItem)))
        row.predictedMs = predicted
      }
    }
    // Measured rounds, each in a different rotation of the order (and reversed every other round).
    for (let round = 0; round < options.runs; round++) {
      const order = [...live]
      const shift = round % Math.max(1, order.length)
      const rotated = [...order.slice(shift), ...order.slice(0, shift)]
      if (round % 2 === 1) rotated.reverse()
      for (const impl of rotated) {
        if (!live.includes(impl)) continue
        const row = rows.get(impl.name)!
        const ms = await attempt(impl, row.items, true)
        // A peer that slows down more than linearly with size gets a second scaling, from its
        // first full-size measurement (that run is dropped, so all its runs share one size).
        const cap = scenario.peerCapMs ?? options.peerCapMs
        if (round === 0 && ms !== undefined && (impl.kind === 'peer' || impl.scaled === true) && ms > 2 * cap && row.items > warmN) {
          row.predictedMs = (ms * n) / row.items
          row.items = Math.max(warmN, roundDown((row.items * cap) / ms))
          row.times.length = 0
          await attempt(impl, row.items, true)
        }
      }
    }
  } finally {
    await scenario.after?.()
  }

  for (const row of rows.values()) {
    if (row.times.length === 0) continue
    row.median = median(row.times)
    row.min = Math.min(...row.times)
    row.max = Math.max(...row.times)
  }
  const result: ScenarioResult = {
    name: scenario.name,
    description: scenario.description,
    items: n,
    ordered: scenario.ordered,
    baseline: scenario.baseline,
    rows: [...rows.values()],
    notes: [...(scenario.notes ?? []), ...scenario.impls.filter((impl) => impl.note !== undefined).map((impl) => `${impl.name}: ${impl.note}`)],
    wallMs: performance.now() - started,
  }
  if (scenario.ideal) result.idealMs = scenario.ideal(n)
  return result
}

// ---- formatting -------------------------------------------------------------

export function fmtInt(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)
}

/** Items per second of a row (from its median). */
export function rateOf(row: Row): number {
  return row.items / (row.median / 1000)
}

/** The markdown table of one scenario. */
export function scenarioTable(result: ScenarioResult): string {
  const base = result.rows.find((row) => row.name === result.baseline)
  const baseRate = base && Number.isFinite(base.median) ? rateOf(base) : NaN
  const hasIdeal = result.idealMs !== undefined
  const lines = [
    `| implementation | items/s | median ms | min–max ms | × ${result.baseline} |${hasIdeal ? ' % of ideal |' : ''}`,
    `| --- | ---: | ---: | ---: | ---: |${hasIdeal ? ' ---: |' : ''}`,
  ]
  for (const row of result.rows) {
    const scaled = row.items !== result.items ? ` † ${fmtInt(row.items)} items` : ''
    const label = (row.kind === 'pipevine' ? `**${row.name}**` : row.kind === 'baseline' ? `${row.name} *(baseline)*` : row.name) + scaled
    if (!Number.isFinite(row.median)) {
      lines.push(`| ${label} | ${row.problem ?? 'n/a'} | | | |${hasIdeal ? ' |' : ''}`)
      continue
    }
    const rate = rateOf(row)
    const ratio = Number.isFinite(baseRate) ? `${(rate / baseRate).toFixed(2)}×` : '–'
    const cells = [label, fmtInt(rate), fmtMs(row.median), `${fmtMs(row.min)}–${fmtMs(row.max)}`, ratio]
    // The ideal scales with the items, so the share is the same at any size.
    if (hasIdeal) cells.push(`${((100 * result.idealMs! * (row.items / result.items)) / row.median).toFixed(1)}%`)
    lines.push(`| ${cells.join(' | ')} |`)
  }
  const scaled = result.rows.filter((row) => row.predictedMs !== undefined && row.items !== result.items)
  if (scaled.length > 0) {
    lines.push(
      '',
      `† Run on fewer items to keep the suite within its time budget: ${scaled.map((row) => `${row.name} (a full-size run would take ≈ ${(row.predictedMs! / 1000).toFixed(1)} s)`).join(', ')}. ` +
        'Its items/s and ratio are per item and comparable; its ms are for its own size.',
    )
  }
  return lines.join('\n')
}

export function machineDescription(): string {
  const list = cpus()
  const model = list[0]?.model.trim() ?? 'unknown CPU'
  return `Node ${process.version}, ${process.platform}/${process.arch}, ${model}, ${list.length} cores`
}
