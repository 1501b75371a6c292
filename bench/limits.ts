/**
 * The `adaptive` and `rate` scenarios of issue 15 (see adaptive.ts and rate.ts):
 * run from index.ts, each printed as it ends and written as a section of its own.
 */
import { ADAPTIVE_C, ADAPTIVE_ITEMS, adaptiveTable, adaptiveTargets, runAdaptive, type AdaptiveRow } from './adaptive.js'
import { rateTable, rateTargets, runRate, type RateRow, type RateSet } from './rate.js'

export interface LimitResults {
  adaptive: AdaptiveRow[] | undefined
  rate: { sets: RateSet[]; long: RateRow | undefined } | undefined
}

const targetLines = (targets: [string, boolean, string][]): string[] => targets.map(([label, ok, figure]) => `- ${ok ? '✅' : '❌'} ${label}: ${figure}`)

export async function runLimits(options: { runs: number; quick: boolean; log: (line: string) => void; adaptive: boolean; rate: boolean }): Promise<LimitResults> {
  const { log } = options
  const results: LimitResults = { adaptive: undefined, rate: undefined }
  if (options.adaptive) {
    log(`\n## adaptive: ${ADAPTIVE_ITEMS.toLocaleString('en-US')} calls to a simulated service of capacity ${ADAPTIVE_C}`)
    results.adaptive = await runAdaptive(options)
    log(adaptiveTable(results.adaptive))
    log(targetLines(adaptiveTargets(results.adaptive)).join('\n'))
  }
  if (options.rate) {
    log('\n## rate: pipevine `rate` against p-throttle and Bottleneck')
    results.rate = await runRate(options)
    if (results.rate.long !== undefined) log(rateTable(results.rate.sets[0]!, results.rate.long))
    log(targetLines(rateTargets(results.rate.sets, results.rate.long)).join('\n'))
  }
  return results
}

export function limitSections(results: LimitResults, quick: boolean): string[] {
  const sections: string[] = []
  if (results.adaptive !== undefined) {
    sections.push(
      [
        '## adaptive',
        '',
        `${(quick ? ADAPTIVE_ITEMS / 4 : ADAPTIVE_ITEMS).toLocaleString('en-US')} calls to a simulated service (bench/sim-server.ts: capacity ${ADAPTIVE_C}, 4 ms a call, queued beyond ${ADAPTIVE_C}, \`503\` beyond ${3 * ADAPTIVE_C}) through \`pool\` and a downstream \`retry\` for the 503s (exponential backoff from 2 ms, jittered). ` +
          'Fixed concurrencies against `concurrency: { min: 1, max: 256 }`, in one process, rotating order; the median run of each. "refused" counts every 503 (each a call that was retried).',
        '',
        adaptiveTable(results.adaptive),
        '',
        ...targetLines(adaptiveTargets(results.adaptive)),
      ].join('\n'),
    )
  }
  if (results.rate !== undefined) {
    const { sets, long } = results.rate
    sections.push(
      [
        '## rate',
        '',
        'Starts limited to `perSecond` with a burst: pipevine `pool(h, { concurrency: 16, rate: { perSecond, burst } })`; p-throttle `{ limit: burst, interval: burst / perSecond s }` (windowed, and `strict`); Bottleneck, its reservoir refilled to `burst` every burst / perSecond s (5 ms heartbeat), 16 at once. ' +
          'The peers get every item up front (their usual use); pipevine pulls items as it starts them. Exactness is the most starts in any sliding one-second window (the promise: perSecond + burst); the achieved rate counts starts after the burst, from first to last; CPU is the process\'s user + system time per item (`process.cpuUsage`, all threads: V8\'s compiler and GC threads included). ' +
          'Every implementation first runs once unmeasured (a first run in the process pays the lazy compilation of its code), then 4 measured rounds in a balanced order (each implementation once in every position, after each other one once), a full GC before every run; the row shows the median CPU of its runs, and every run. ' +
          'At 500/s each round also runs every implementation for 1 s: "marginal" is the cost of one more item, (CPU of the 3-s run − CPU of the 1-s run) / (difference in items), from the medians; "fixed" is what a run costs whatever its length, mostly V8 compiling the code of the run again after the GC (a GC throws away optimised code whose objects died) and the set-up. The CPU of one run varies by ±20–30 % between identical runs (when V8 compiles, and whether a GC cycle lands in it), so single figures within that of each other are level.',
        '',
        ...sets.map((set, i) => rateTable(set, i === 0 ? long : undefined) + '\n'),
        ...targetLines(rateTargets(sets, long)),
      ].join('\n'),
    )
  }
  return sections
}
