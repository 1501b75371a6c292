/**
 * The `adaptive` scenario (issue 15): 8,000 calls to a simulated service of
 * capacity C = 16 (4 ms a call while at most 16 are in flight, queued beyond,
 * 503 beyond 48; see sim-server.ts), through `pool` and a downstream `retry`
 * for the 503s. Fixed concurrencies 4, 16, 64 and 256 against
 * `concurrency: { min: 1, max: 256 }`, in the same process, in rotating order.
 * Targets: adaptive ≥ 0.9 × the best fixed throughput, < 1 % of its calls refused.
 */
import { isRight, pipe, pool, retry, run } from '../src/index.js'
import { SimServer } from './sim-server.js'

export const ADAPTIVE_C = 16
export const ADAPTIVE_ITEMS = 8_000

type Concurrency = number | { min: number; max: number; initial?: number }

export interface AdaptiveRow {
  name: string
  /** Median wall time (ms) and items per second from it. */
  ms: number
  perSecond: number
  calls: number
  refused: number
  /** Items still a Left after the retries. */
  failed: number
  /** The stage's limit at the end (its reported concurrency). */
  finalLimit: number
  times: number[]
}

/** A limit over time, for the plot: [ms since start, limit, items done so far]. */
export type Trace = [number, number, number][]

const overloaded = (cause: unknown): boolean => (cause as { status?: number }).status === 503

/** One run of `items` calls at `concurrency`; `trace` collects the limit and progress every `progressMs`. */
export async function adaptiveRun(concurrency: Concurrency, items: number, C = ADAPTIVE_C, trace?: Trace, progressMs = 50, change?: { atMs: number; capacity: number }) {
  const server = new SimServer(C)
  const t0 = performance.now()
  let changed = false
  const result = await run(
    pipe(
      Array.from({ length: items }, (_, i) => i),
      pool((n: number) => server.call(n), { name: 'api', concurrency }),
      retry({ retries: 30, backoff: 'exponential', baseMs: 2, maxMs: 100, jitter: true, when: overloaded }),
    ),
    {
      progressMs,
      onProgress(report) {
        const t = performance.now() - t0
        if (change !== undefined && !changed && t >= change.atMs) {
          changed = true
          server.capacity = change.capacity
        }
        trace?.push([t, report.stages[0]!.concurrency, report.processed])
      },
    },
  )
  const ms = performance.now() - t0
  if (!isRight(result)) throw new Error(`adaptive bench run failed: ${result.left.kind}`)
  const report = result.right
  return { ms, calls: server.calls, refused: server.refused, failed: items - report.processed, finalLimit: report.stages[0]!.concurrency }
}

export const ADAPTIVE_CONFIGS: [string, Concurrency][] = [
  ['fixed 4', 4],
  ['fixed 16', 16],
  ['fixed 64', 64],
  ['fixed 256', 256],
  ['adaptive { min: 1, max: 256 }', { min: 1, max: 256 }],
]

export async function runAdaptive(options: { runs: number; quick: boolean; log: (line: string) => void }): Promise<AdaptiveRow[]> {
  const items = options.quick ? ADAPTIVE_ITEMS / 4 : ADAPTIVE_ITEMS
  const rows = ADAPTIVE_CONFIGS.map(([name]) => ({ name, ms: 0, perSecond: 0, calls: 0, refused: 0, failed: 0, finalLimit: 0, times: [] as number[], runs: [] as Awaited<ReturnType<typeof adaptiveRun>>[] }))
  // Up to 3 rounds: a fixed concurrency of 4 alone takes about 10 s.
  for (let round = 0; round < Math.min(options.runs, 3); round++) {
    const order = rows.map((_, i) => (i + round) % rows.length)
    if (round % 2 === 1) order.reverse()
    for (const i of order) {
      ;(globalThis as { gc?: () => void }).gc?.()
      const measured = await adaptiveRun(ADAPTIVE_CONFIGS[i]![1], items)
      rows[i]!.runs.push(measured)
      rows[i]!.times.push(measured.ms)
    }
  }
  return rows.map(({ runs, ...row }) => {
    const median = runs.slice().sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!
    return { ...row, ms: median.ms, perSecond: (items / median.ms) * 1_000, calls: median.calls, refused: median.refused, failed: median.failed, finalLimit: median.finalLimit }
  })
}

export function adaptiveTable(rows: AdaptiveRow[]): string {
  const best = Math.max(...rows.filter((r) => r.name.startsWith('fixed')).map((r) => r.perSecond))
  const lines = ['| concurrency | median ms | items/s | × best fixed | calls | refused (503) | refused % | failed items | final limit |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.ms.toFixed(0)} | ${r.perSecond.toFixed(0)} | ${(r.perSecond / best).toFixed(2)} | ${r.calls} | ${r.refused} | ${((100 * r.refused) / r.calls).toFixed(2)} | ${r.failed} | ${r.finalLimit} |`,
    )
  }
  return lines.join('\n')
}

/** The targets for the adaptive row: [label, ok, figure]. */
export function adaptiveTargets(rows: AdaptiveRow[]): [string, boolean, string][] {
  const best = Math.max(...rows.filter((r) => r.name.startsWith('fixed')).map((r) => r.perSecond))
  const adaptive = rows.find((r) => r.name.startsWith('adaptive'))!
  const share = adaptive.refused / adaptive.calls
  return [
    ['adaptive ≥ 0.9 × best fixed concurrency', adaptive.perSecond >= 0.9 * best, `${(adaptive.perSecond / best).toFixed(2)} ×`],
    ['adaptive: < 1 % of calls refused', share < 0.01, `${(100 * share).toFixed(2)} %`],
  ]
}
