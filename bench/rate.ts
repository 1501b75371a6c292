/**
 * The `rate` scenario (issue 15): calls limited to `perSecond` a second with a
 * burst of `burst` (see runRate for the two sets), measured for exactness (the
 * most starts in any sliding one-second window, against the promise
 * perSecond + burst), the achieved rate, and the CPU time per item (user +
 * system, `process.cpuUsage`), for pipevine `pool(h, { concurrency: 16, rate })`,
 * p-throttle (`{ limit: burst, interval: burst / perSecond s }`, default and
 * strict) and Bottleneck (reservoir `burst`, refilled to `burst` every
 * burst / perSecond s on a 5 ms heartbeat, at most 16 at once). The peers are called for every item up
 * front (their usual use); pipevine pulls items as it starts them.
 */
import pThrottle from 'p-throttle'
import Bottleneck from 'bottleneck'
import { pipe, pool, run } from '../src/index.js'

export const RATE_PER_SECOND = 500
export const RATE_BURST = 10

export interface RateRow {
  name: string
  items: number
  /** Most starts in any one-second window. */
  maxPerWindow: number
  /** Starts per second after the burst, from first to last start. */
  achieved: number
  /** CPU µs per item (user + system). */
  cpuPerItemUs: number
  wallMs: number
}

type Limited = (items: number, work: (n: number) => number | Promise<number>) => Promise<void>

/** The call: 1 ms of timer work (slow set), or none (fast set: what is left is the limiter's and the caller's own cost). */
const work = (starts: number[], timed: boolean) =>
  timed
    ? async (n: number): Promise<number> => {
        starts.push(performance.now())
        await new Promise((resolve) => setTimeout(resolve, 1))
        return n
      }
    : (n: number): number => {
        starts.push(performance.now())
        return n
      }

function maxInWindow(at: number[], windowMs: number): number {
  let most = 0
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= windowMs) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

const IMPLS: [string, (perSecond: number, burst: number) => Limited][] = [
  [
    'pipevine pool(h, { concurrency: 16, rate })',
    (perSecond, burst) => async (items, h) => {
      const result = await run(pipe(Array.from({ length: items }, (_, i) => i), pool(h, { concurrency: 16, rate: { perSecond, burst } })))
      if (result._tag !== 'Right' || result.right.processed !== items) throw new Error('pipevine rate run lost items')
    },
  ],
  [
    'p-throttle (windowed)',
    (perSecond, burst) => async (items, h) => {
      const throttled = pThrottle({ limit: burst, interval: (burst / perSecond) * 1_000 })(h)
      await Promise.all(Array.from({ length: items }, (_, i) => throttled(i)))
    },
  ],
  [
    'p-throttle (strict)',
    (perSecond, burst) => async (items, h) => {
      const throttled = pThrottle({ limit: burst, interval: (burst / perSecond) * 1_000, strict: true })(h)
      await Promise.all(Array.from({ length: items }, (_, i) => throttled(i)))
    },
  ],
  [
    'Bottleneck (reservoir)',
    (perSecond, burst) => async (items, h) => {
      // Its reservoir grows on a heartbeat (250 ms by default): `burst` every burst / perSecond s, checked every 5 ms.
      const every = (burst / perSecond) * 1_000
      const limiter = new Bottleneck({ maxConcurrent: 16, reservoir: burst, reservoirIncreaseAmount: burst, reservoirIncreaseInterval: every, reservoirIncreaseMaximum: burst, heartbeatInterval: Math.min(5, every) })
      await Promise.all(Array.from({ length: items }, (_, i) => limiter.schedule(async () => h(i))))
      await limiter.disconnect()
    },
  ],
]

async function measure(name: string, limited: Limited, items: number, burst: number, timed: boolean): Promise<RateRow> {
  const starts: number[] = []
  ;(globalThis as { gc?: () => void }).gc?.()
  // Bottleneck's heartbeat timer is unref'd: with synchronous calls nothing else would keep the process alive while it waits.
  const keepAlive = setInterval(() => {}, 1_000)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await limited(items, work(starts, timed)).finally(() => clearInterval(keepAlive))
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  if (starts.length !== items) throw new Error(`${name}: ${starts.length} starts for ${items} items`)
  starts.sort((a, b) => a - b)
  const achieved = ((items - burst) / (starts[items - 1]! - starts[0]!)) * 1_000
  return { name, items, maxPerWindow: maxInWindow(starts, 1_000), achieved, cpuPerItemUs: (cpu.user + cpu.system) / items, wallMs }
}

export interface RateSet {
  title: string
  perSecond: number
  burst: number
  rows: RateRow[]
  /** CPU µs per item of every measured run, per row (in round order). */
  runs: number[][]
  /** The marginal cost and the fixed cost per run, from the short and the long runs (500/s set only). */
  split?: { shortItems: number; marginalUs: number; fixedMs: number; shortRuns: number[] }[]
}

/**
 * Williams' balanced Latin square for n (even) implementations: over n rounds
 * each runs once in every position and follows each other one exactly once, so
 * neither a place in the order (the first run after a warm-up, or the one after
 * Bottleneck's garbage) nor a neighbour favours anyone.
 */
export function balancedOrders(n: number): number[][] {
  const first: number[] = []
  for (let k = 0, lo = 0, hi = n - 1; k < n; k++) first.push(k === 0 ? lo++ : k % 2 === 1 ? lo++ : hi--)
  return Array.from({ length: n }, (_, round) => first.map((i) => (i + round) % n))
}

const median = (values: number[]): number => {
  const sorted = values.slice().sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Two sets: 500/s with a burst of 10 and 1 ms calls for 3 s (exactness, achieved
 * rate and CPU per item), and 20,000/s with a burst of 20 and synchronous calls
 * for 2 s (the peers that would take minutes here run 4,000 items). For each set,
 * every implementation first runs once unmeasured (its first run in the process
 * pays the lazy compilation of its code; the other scenarios' warm-up does the
 * same), then 4 measured rounds in the orders of balancedOrders, a full GC before
 * every run. A row shows the median CPU cost of its runs (every run is listed)
 * and the most per-window starts of any run. In the 500/s set each round also
 * runs every implementation for 1 s, in reverse order: the difference between
 * the medians of the two lengths is the marginal cost per item, the rest the
 * cost a run pays whatever its length (V8 compiling the run's code again after
 * the GC, setting up). Then pipevine alone for 10 s at 500/s (the issue's
 * achieved-rate figure).
 */
export async function runRate(options: { runs: number; quick: boolean; log: (line: string) => void }): Promise<{ sets: RateSet[]; long: RateRow | undefined }> {
  const orders = balancedOrders(IMPLS.length).slice(0, options.quick ? 2 : Math.max(2, Math.min(options.runs, IMPLS.length)))
  const sets: RateSet[] = []
  for (const [title, perSecond, burst, seconds, timed] of [
    ['500/s, burst 10, 1 ms calls', RATE_PER_SECOND, RATE_BURST, options.quick ? 1 : 3, true],
    ['20,000/s, burst 20, synchronous calls', 20_000, 20, options.quick ? 0.25 : 2, false],
  ] as const) {
    const items = seconds * perSecond + burst
    // p-throttle's strict mode and Bottleneck's heartbeat fall far behind 20,000/s: fewer items for them.
    const itemsOf = (i: number, n: number): number => (!timed && i >= 2 ? Math.min(n, 4_000) : n)
    const shortItems = timed && !options.quick ? perSecond + burst : 0
    const warmItems = (i: number): number => (!timed && i >= 2 ? 500 : Math.min(items, Math.round(perSecond / 2) + burst))
    for (let i = 0; i < IMPLS.length; i++) await measure(IMPLS[i]![0], IMPLS[i]![1](perSecond, burst), warmItems(i), burst, timed)
    const all: RateRow[][] = IMPLS.map(() => [])
    const short: number[][] = IMPLS.map(() => [])
    for (const order of orders) {
      for (const i of order) all[i]!.push(await measure(IMPLS[i]![0], IMPLS[i]![1](perSecond, burst), itemsOf(i, items), burst, timed))
      if (shortItems > 0) for (const i of order.slice().reverse()) short[i]!.push((await measure(IMPLS[i]![0], IMPLS[i]![1](perSecond, burst), shortItems, burst, timed)).cpuPerItemUs)
    }
    const rows = all.map((measured) => {
      const byCpu = measured.slice().sort((a, b) => a.cpuPerItemUs - b.cpuPerItemUs)
      const cpuPerItemUs = median(measured.map((m) => m.cpuPerItemUs))
      return { ...byCpu[(byCpu.length - 1) >> 1]!, cpuPerItemUs, maxPerWindow: Math.max(...measured.map((m) => m.maxPerWindow)) }
    })
    const set: RateSet = { title, perSecond, burst, rows, runs: all.map((measured) => measured.map((m) => m.cpuPerItemUs)) }
    if (shortItems > 0) {
      set.split = rows.map((row, i) => {
        const marginalUs = (row.cpuPerItemUs * row.items - median(short[i]!) * shortItems) / (row.items - shortItems)
        return { shortItems, marginalUs, fixedMs: ((row.cpuPerItemUs - marginalUs) * row.items) / 1_000, shortRuns: short[i]! }
      })
    }
    sets.push(set)
    options.log(rateTable(set))
  }
  const long = options.quick ? undefined : await measure('pipevine, 10 s', IMPLS[0]![1](RATE_PER_SECOND, RATE_BURST), 10 * RATE_PER_SECOND + RATE_BURST, RATE_BURST, true)
  return { sets, long }
}

export function rateTable(set: RateSet, long?: RateRow): string {
  const split = set.split
  const lines = [
    `**${set.title}**`,
    '',
    `| implementation | items | most starts in a 1-s window (promise: ≤ ${set.perSecond + set.burst}) | achieved /s (of ${set.perSecond}) | CPU µs / item (median) | each run | ${split ? `marginal µs / item | fixed ms / run | ` : ''}wall ms |`,
    `|---|---:|---:|---:|---:|---:|${split ? '---:|---:|' : ''}---:|`,
  ]
  const rows = long === undefined ? set.rows : [...set.rows, long]
  rows.forEach((r, i) => {
    const each = set.runs[i]?.map((v) => v.toFixed(1)).join(' ') ?? '(1 run)'
    const parts = split ? (split[i] ? [split[i]!.marginalUs.toFixed(1), split[i]!.fixedMs.toFixed(1)] : ['', '']) : []
    lines.push(`| ${r.name} | ${r.items} | ${r.maxPerWindow} | ${r.achieved.toFixed(1)} (${((100 * r.achieved) / set.perSecond).toFixed(1)} %) | ${r.cpuPerItemUs.toFixed(1)} | ${each} | ${parts.map((p) => `${p} | `).join('')}${r.wallMs.toFixed(0)} |`)
  })
  if (split) lines.push('', `Runs of ${split[0]!.shortItems} items (1 s), CPU µs / item: ${set.rows.map((r, i) => `${r.name.replace(' pool(h, { concurrency: 16, rate })', '')} ${split[i]!.shortRuns.map((v) => v.toFixed(1)).join(' ')}`).join('; ')}.`)
  return lines.join('\n')
}

/**
 * The issue's targets: within the promise, at least as exact as the peers that keep it (the
 * most per-window starts over perSecond + burst: none for pipevine), at least as cheap per
 * item as the cheapest peer at both rates, and ≥ 97 % of perSecond over 10 s.
 */
export function rateTargets(sets: RateSet[], long: RateRow | undefined): [string, boolean, string][] {
  const targets: [string, boolean, string][] = []
  for (const set of sets) {
    const [ours, ...peers] = set.rows
    const bound = set.perSecond + set.burst
    const over = (r: RateRow): number => Math.max(0, r.maxPerWindow - bound)
    targets.push([`rate ${set.title}: no 1-s window over perSecond + burst, and over by no more than any peer`, over(ours!) === 0 && peers.every((p) => over(ours!) <= over(p)), `${ours!.maxPerWindow} ≤ ${bound}; peers ${peers.map((p) => p.maxPerWindow).join(', ')}`])
  }
  for (const set of sets) {
    const cheapest = Math.min(...set.rows.slice(1).map((p) => p.cpuPerItemUs))
    targets.push([`rate ${set.title}: as cheap per item as the cheapest peer (median CPU µs)`, set.rows[0]!.cpuPerItemUs <= cheapest, `${set.rows[0]!.cpuPerItemUs.toFixed(1)} vs ${cheapest.toFixed(1)}`])
  }
  if (long !== undefined) targets.push(['rate: ≥ 97 % of perSecond over 10 s (500/s, burst 10)', long.achieved >= 0.97 * RATE_PER_SECOND, `${((100 * long.achieved) / RATE_PER_SECOND).toFixed(1)} %`])
  return targets
}
