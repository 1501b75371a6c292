/**
 * The CPU scenarios of issue 4 (worker threads): cpu-pool (400 tasks of ~5 ms)
 * and cpu-small (50,000 tasks of ~20 µs), on 2 threads. Every pool is created
 * and warmed before timing (issue 13: bench/cpu-pools.ts) and used by every
 * measured run; the cold rows (threads started inside each run, as `thread(…)`
 * does) stay, so that the cost of a cold start is visible.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import * as sources from '../src/index.js'
import { Checker, checkOf, type Check, type Impl, type Scenario } from './harness.js'
import { range } from './peers.js'
import { heavy, light } from './workers/cpu-task.mjs'
import { HandPool, handPoolRow, pipevinePoolRow, THREADS, Warm, manyRunsScenario, peerPools, pipevinePool, type TaskPool } from './cpu-pools.js'
import { skewScenario } from './cpu-skew.js'

export { THREADS }
/** Items per message of the hand-rolled batched pool. */
export const BATCH = 256
/** Tasks the library pools are given at once (they queue what their threads can't take yet). */
const WINDOW = 64

type TaskName = 'heavy' | 'light'

const taskModule = new URL('./workers/cpu-task.mjs', import.meta.url)


// ---- pipevine's worker-thread handler ---------------------------------------

type Pipevine = typeof sources

/** `pool(thread(moduleUrl, exportName), 2)`, as SPEC's "Worker threads" writes it: its threads start and end in each run. */
function pipevineImpl(task: TaskName, name: string, pv: Pipevine | string): Impl {
  if (typeof pv === 'string') return { name, kind: 'pipevine', unavailable: pv, run: () => Promise.reject(new Error(pv)) }
  return {
    name,
    kind: 'pipevine',
    run: async (n) => {
      const handler = pv.thread<(seed: number) => number>(taskModule, task)
      const out = new Checker()
      for await (const value of pv.pipe(range(n), pv.pool(handler, THREADS), pv.values())) out.add(value)
      return out.result()
    },
  }
}

/**
 * pipevine runs from the built bundle (dist/esm) when it is up to date: from the
 * sources each pipevine thread loads its entry and the engine through the tsx
 * loader, a cost the published package doesn't have. Without a fresh build the
 * row runs from the sources, and a note says so.
 */
const built: Pipevine | string = await loadDist()

async function loadDist(): Promise<Pipevine | string> {
  const dist = new URL('../dist/esm/index.js', import.meta.url)
  if (!existsSync(dist)) return 'n/a (no dist build; run npm run build)'
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const path = join(dir, entry.name)
      return Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
    }, 0)
  if (statSync(dist).mtimeMs < newest(fileURLToPath(new URL('../src', import.meta.url)))) return 'n/a (dist build older than src; run npm run build)'
  const mod = (await import(dist.href)) as Partial<Pipevine>
  return typeof mod.thread === 'function' ? (mod as Pipevine) : 'n/a (dist build has no thread())'
}

// ---- baselines ----------------------------------------------------------------

function singleThreadLoop(task: TaskName): Impl {
  const fn = task === 'heavy' ? heavy : light
  return {
    name: 'single-thread loop',
    kind: 'baseline',
    run: async (n) => {
      const out = new Checker()
      for (const x of range(n)) out.add(fn(x))
      return out.result()
    },
  }
}

/** Keeps up to `WINDOW` tasks submitted to a library pool, adding results as they come. */
function windowed(n: number, submit: (x: number) => PromiseLike<number>, out: Checker): Promise<void> {
  const items = range(n)
  return new Promise((resolve, reject) => {
    let next = 0
    let active = 0
    let done = 0
    if (n === 0) return resolve()
    const pump = (): void => {
      while (active < WINDOW && next < n) {
        active++
        submit(items[next++]!).then((value) => {
          active--
          done++
          out.add(value)
          if (done === n) resolve()
          else pump()
        }, reject)
      }
    }
    pump()
  })
}

/** A library pool (piscina, tinypool) opened for one run, fed `WINDOW` tasks at a time, and destroyed after it. */
function libraryPool(name: string, open: () => { run(task: number): Promise<unknown>; destroy(): Promise<unknown> }): Impl {
  return {
    name,
    kind: 'peer',
    run: async (n) => {
      const out = new Checker()
      const pool = open()
      try {
        await windowed(n, (x) => pool.run(x) as Promise<number>, out)
      } finally {
        await pool.destroy()
      }
      return out.result()
    },
  }
}

/** A warm peer pool, fed `WINDOW` tasks at a time. */
function warmPeer(name: string, pool: Warm<TaskPool>): Impl {
  return {
    name,
    kind: 'peer',
    run: async (n) => {
      const out = new Checker()
      await windowed(n, (x) => pool.get().run(x), out)
      return out.result()
    },
  }
}

/** The rows of a CPU scenario, and the warm pools its `before` opens and its `after` closes. */
function cpuImpls(task: TaskName): { impls: Impl[]; warm: Warm<{ close(): Promise<unknown> }>[] } {
  const pv = typeof built === 'string' ? sources : built
  const pooled = pipevinePool(pv, task)
  // One item per message for the 5 ms tasks; 256 per message for the 20 µs ones (with 400 tasks,
  // 256-item batches would leave one thread idle, and one-item messages cost more than 20 µs tasks).
  const hand = new Warm(() => HandPool.open(task, task === 'heavy' ? 1 : BATCH))
  const peers = { piscina: peerPools.piscina(task), tinypool: peerPools.tinypool(task), workerpool: peerPools.workerpool(task) }
  const impls: Impl[] = [
    singleThreadLoop(task),
    handPoolRow(task === 'heavy' ? 'hand-rolled pool' : `hand-rolled batched pool (${BATCH}/msg)`, hand),
    pipevinePoolRow(pv, pooled),
    ...Object.entries(peers).map(([name, pool]) => warmPeer(name, pool)),
    // The built bundle, as users get it (`npm run bench` builds first); from the sources, each
    // pipevine thread would also load its entry and engine through tsx (~150 ms per thread).
    pipevineImpl(task, 'pipevine thread() (threads start per run)', pv),
    { ...libraryPool('piscina (pool per run)', () => new Piscina({ filename: taskModule.href, name: task, minThreads: THREADS, maxThreads: THREADS })), kind: 'baseline' },
  ]
  return { impls, warm: [pooled, hand, ...Object.values(peers)] }
}

/**
 * The expected output for the first n seeds, computed directly on this thread;
 * results are kept so each further size costs only what it adds.
 */
function expectedOf(task: TaskName): (n: number) => Check {
  const fn = task === 'heavy' ? heavy : light
  const results: number[] = []
  return (n) => {
    for (let i = results.length; i < n; i++) results.push(fn(i))
    return checkOf(results.slice(0, n))
  }
}

const commonNotes = [
  ...(typeof built === 'string' ? [`**pipevine ran from its TypeScript sources** (${built.replace(/^n\/a \((.*)\)$/, '$1')}): each of its threads also loaded tsx, so its row is slower than the published package.`] : []),
  `${THREADS} threads everywhere. Every pool is created and warmed before timing and kept across the measured runs (pipevine: \`threadPool\` after \`ready()\`); the cold rows start their threads in each run (included in the time). Library pools are fed ${WINDOW} tasks at a time; the hand-rolled pool keeps two messages in flight per thread.`,
  "The suite registers tsx in its main thread only (bench/run.mjs), so the threads of every pool start as plain Node, as in production. pipevine runs from its built bundle (`npm run bench` builds it first), as users get it; run from its TypeScript sources it would register tsx in each of its threads.",
]

const heavyRows = cpuImpls('heavy')
const lightRows = cpuImpls('light')
const opener = (warm: Warm<{ close(): Promise<unknown> }>[]) => ({
  before: async () => {
    for (const pool of warm) await pool.start()
  },
  after: async () => {
    for (const pool of warm) await pool.stop()
  },
})

export const cpuPool: Scenario = {
  name: 'cpu-pool',
  description: `${THREADS} threads, tasks of ~5 ms pure-JS CPU each (\`heavy\` in bench/workers/cpu-task.mjs)`,
  items: 400,
  quickItems: 8,
  ordered: false,
  baseline: 'single-thread loop',
  expected: expectedOf('heavy'),
  peerCapMs: 2_500,
  notes: [...commonNotes, `Targets (issues 4, 13): pipevine ≥ 1.9× the single-thread loop, ahead of piscina, tinypool and workerpool (all warm).`],
  impls: heavyRows.impls,
  ...opener(heavyRows.warm),
}

export const cpuSmall: Scenario = {
  name: 'cpu-small',
  description: `${THREADS} threads, tasks of ~20 µs pure-JS CPU each (\`light\` in bench/workers/cpu-task.mjs)`,
  items: 50_000,
  quickItems: 1_000,
  ordered: false,
  baseline: `hand-rolled batched pool (${BATCH}/msg)`,
  expected: expectedOf('light'),
  peerCapMs: 800,
  notes: [...commonNotes, `Targets (issues 4, 13): pipevine ≥ 3.5× piscina and ≥ 0.9× the hand-rolled batched pool (all warm).`],
  impls: lightRows.impls,
  ...opener(lightRows.warm),
}

export const manyRuns: Scenario = manyRunsScenario(typeof built === 'string' ? sources : built, commonNotes)

export const cpuSkew: Scenario = skewScenario(typeof built === 'string' ? sources : built)
