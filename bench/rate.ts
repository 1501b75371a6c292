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
}

/**
 * Two sets, every implementation in rotating order over up to 3 rounds (the row
 * of the median CPU cost is kept, with the most per-window starts of any round):
 * 500/s with a burst of 10 and 1 ms calls for 3 s (exactness and achieved rate),
 * and 20,000/s with a burst of 20 and synchronous calls for 2 s (CPU cost per
 * item; the peers that would take minutes here run 4,000 items). Then pipevine
 * alone for 10 s at 500/s (the achieved-rate figure).
 */
export async function runRate(options: { runs: number; quick: boolean; log: (line: string) => void }): Promise<{ sets: RateSet[]; long: RateRow | undefined }> {
  const runs = Math.min(options.runs, 3)
  const sets: RateSet[] = []
  for (const [title, perSecond, burst, seconds, timed] of [
    ['500/s, burst 10, 1 ms calls', RATE_PER_SECOND, RATE_BURST, options.quick ? 1 : 3, true],
    ['20,000/s, burst 20, synchronous calls', 20_000, 20, options.quick ? 0.25 : 2, false],
  ] as const) {
    const items = seconds * perSecond + burst
    const all: RateRow[][] = IMPLS.map(() => [])
    for (let round = 0; round < runs; round++) {
      const order = IMPLS.map((_, i) => (i + round) % IMPLS.length)
      if (round % 2 === 1) order.reverse()
      for (const i of order) {
        // p-throttle's strict mode and Bottleneck's heartbeat fall far behind 20,000/s: fewer items for them.
        const n = !timed && i >= 2 ? Math.min(items, 4_000) : items
        all[i]!.push(await measure(IMPLS[i]![0], IMPLS[i]![1](perSecond, burst), n, burst, timed))
      }
    }
    const rows = all.map((measured) => {
      const byCpu = measured.slice().sort((a, b) => a.cpuPerItemUs - b.cpuPerItemUs)
      return { ...byCpu[Math.floor(byCpu.length / 2)]!, maxPerWindow: Math.max(...measured.map((m) => m.maxPerWindow)) }
    })
    sets.push({ title, perSecond, burst, rows })
    options.log(rateTable(sets[sets.length - 1]!))
  }
  const long = options.quick ? undefined : await measure('pipevine, 10 s', IMPLS[0]![1](RATE_PER_SECOND, RATE_BURST), 10 * RATE_PER_SECOND + RATE_BURST, RATE_BURST, true)
  return { sets, long }
}

export function rateTable(set: RateSet, long?: RateRow): string {
  const lines = [
    `**${set.title}**`,
    '',
    `| implementation | items | most starts in a 1-s window (promise: ≤ ${set.perSecond + set.burst}) | achieved /s (of ${set.perSecond}) | CPU µs / item | wall ms |`,
    '|---|---:|---:|---:|---:|---:|',
  ]
  for (const r of long === undefined ? set.rows : [...set.rows, long]) {
    lines.push(`| ${r.name} | ${r.items} | ${r.maxPerWindow} | ${r.achieved.toFixed(1)} (${((100 * r.achieved) / set.perSecond).toFixed(1)} %) | ${r.cpuPerItemUs.toFixed(1)} | ${r.wallMs.toFixed(0)} |`)
  }
  return lines.join('\n')
}

/**
 * The targets: within the promise, at least as exact as the peers that keep it (the
 * most per-window starts over perSecond + burst: none for pipevine), at least as cheap per
 * item as the cheapest peer at 20,000/s, and ≥ 97 % of perSecond over 10 s.
 */
export function rateTargets(sets: RateSet[], long: RateRow | undefined): [string, boolean, string][] {
  const targets: [string, boolean, string][] = []
  for (const set of sets) {
    const [ours, ...peers] = set.rows
    const bound = set.perSecond + set.burst
    const over = (r: RateRow): number => Math.max(0, r.maxPerWindow - bound)
    targets.push([`rate ${set.title}: no 1-s window over perSecond + burst, and over by no more than any peer`, over(ours!) === 0 && peers.every((p) => over(ours!) <= over(p)), `${ours!.maxPerWindow} ≤ ${bound}; peers ${peers.map((p) => p.maxPerWindow).join(', ')}`])
  }
  const fast = sets[sets.length - 1]!
  const cheapest = Math.min(...fast.rows.slice(1).map((p) => p.cpuPerItemUs))
  targets.push([`rate ${fast.title}: as cheap per item as the cheapest peer (CPU µs)`, fast.rows[0]!.cpuPerItemUs <= cheapest, `${fast.rows[0]!.cpuPerItemUs.toFixed(1)} vs ${cheapest.toFixed(1)}`])
  if (long !== undefined) targets.push(['rate: ≥ 97 % of perSecond over 10 s (500/s, burst 10)', long.achieved >= 0.97 * RATE_PER_SECOND, `${((100 * long.achieved) / RATE_PER_SECOND).toFixed(1)} %`])
  return targets
}
