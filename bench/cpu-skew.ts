/**
 * The cpu-skew scenario (issue 13 point 5): a skewed workload through one warm pool.
 */
import { Checker, checkOf, type Impl, type Scenario } from './harness.js'
import { range } from './peers.js'
import { skewed } from './workers/cpu-task.mjs'
import { HandPool, handPoolRow, pipevinePoolRow, THREADS, Warm, peerPools, pipevinePool, type Pipevine } from './cpu-pools.js'

/**
 * Items of ~100 µs, 1% of them 50× slower: does one slow item stall the
 * batch queued behind it on its thread while the other thread idles? The
 * shared-queue peers (piscina, a one-item-per-message hand-rolled pool) show
 * what no stall looks like; `ideal` is the total work split evenly over the threads.
 */
export function skewScenario(pv: Pipevine): Scenario {
  const pooled = pipevinePool(pv, 'skewed')
  const piscina = peerPools.piscina('skewed')
  const hand = new Warm(() => HandPool.open('skewed', 1))
  const results: number[] = []
  let singleMs = NaN
  const impls: Impl[] = [
    {
      name: 'single-thread loop',
      kind: 'baseline',
      run: async (n) => {
        const out = new Checker()
        const started = performance.now()
        for (const x of range(n)) out.add(skewed(x))
        singleMs = performance.now() - started
        return out.result()
      },
    },
    handPoolRow('hand-rolled pool (1/msg, 2 in flight per thread, warm)', hand),
    pipevinePoolRow(pv, pooled),
    {
      name: 'piscina',
      kind: 'peer',
      run: async (n) => {
        const out = new Checker()
        const pool = piscina.get()
        const results = await Promise.all(range(n).map((x) => pool.run(x)))
        for (const value of results) out.add(value)
        return out.result()
      },
    },
  ]
  return {
    name: 'cpu-skew',
    description: `${THREADS} threads, tasks of ~100 µs, 1% of them ~5 ms (50×), through one warm pool`,
    items: 4_000,
    quickItems: 200,
    ordered: false,
    baseline: 'single-thread loop',
    expected: (n) => {
      for (let i = results.length; i < n; i++) results.push(skewed(i))
      return checkOf(results.slice(0, n))
    },
    before: async () => {
      for (const pool of [pooled, piscina, hand]) await pool.start()
    },
    after: async () => {
      for (const pool of [pooled, piscina, hand]) await pool.stop()
      if (Number.isFinite(singleMs)) console.log(`  cpu-skew: the single-thread loop's last run took ${singleMs.toFixed(0)} ms (ideal on ${THREADS} threads: ${(singleMs / THREADS).toFixed(0)} ms)`)
    },
    notes: [`Issue 13 point 5: a stall shows as pipevine well below the shared-queue rows (piscina; the hand-rolled pool, which sends one item at a time). Ideal: ${THREADS}× the single-thread loop.`],
    impls,
  }
}
