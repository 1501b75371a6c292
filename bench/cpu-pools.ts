/**
 * Warm thread pools for the CPU scenarios (issue 13): every implementation's
 * pool is created, and its threads started and warmed, in the scenario's
 * `before` (outside the timed region), then used by every measured run, and
 * closed in `after`. Also the `many-runs` scenario: 400 separate runs of 50
 * items × ~20 µs through one warm pool, a server's shape.
 */
import { Worker } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { Tinypool } from 'tinypool'
import workerpool from 'workerpool'
import { Checker, checkOf, type Check, type Impl, type Scenario } from './harness.js'
import { range } from './peers.js'
import { light } from './workers/cpu-task.mjs'

export type TaskName = 'heavy' | 'light' | 'skewed'
export type Pipevine = typeof import('../src/index.js')

export const THREADS = 2
const taskModule = new URL('./workers/cpu-task.mjs', import.meta.url)
const handWorker = new URL('./workers/hand-worker.mjs', import.meta.url)
const workerpoolWorker = new URL('./workers/workerpool-worker.mjs', import.meta.url)

/** A pool that runs one task at a time per call (the peers' API), and how to end it. */
export interface TaskPool {
  run(x: number): PromiseLike<number>
  close(): Promise<unknown>
}

/** A pool opened in `before` and closed in `after`; `get()` in between. */
export class Warm<P extends { close(): Promise<unknown> }> {
  private pool: P | undefined
  constructor(private readonly open: () => Promise<P>) {}
  get(): P {
    if (this.pool === undefined) throw new Error('the warm pool is not open (scenario.before did not run)')
    return this.pool
  }
  async start(): Promise<void> {
    this.pool = await this.open()
  }
  async stop(): Promise<void> {
    await this.pool?.close()
    this.pool = undefined
  }
}

/** Runs THREADS × 4 tasks, so that every thread has started and run the task before timing starts. */
async function warmed<P extends TaskPool>(pool: P): Promise<P> {
  await Promise.all(range(THREADS * 4).map((x) => pool.run(x)))
  return pool
}

export const peerPools = {
  piscina: (task: TaskName, concurrentTasksPerWorker = 1): Warm<TaskPool> =>
    new Warm(() => {
      const pool = new Piscina({ filename: taskModule.href, name: task, minThreads: THREADS, maxThreads: THREADS, concurrentTasksPerWorker })
      return warmed({ run: (x) => pool.run(x) as Promise<number>, close: () => pool.destroy() })
    }),
  tinypool: (task: TaskName): Warm<TaskPool> =>
    new Warm(() => {
      const pool = new Tinypool({ filename: taskModule.href, name: task, minThreads: THREADS, maxThreads: THREADS })
      return warmed({ run: (x) => pool.run(x) as Promise<number>, close: () => pool.destroy() })
    }),
  workerpool: (task: TaskName): Warm<TaskPool> =>
    new Warm(() => {
      const pool = workerpool.pool(workerpoolWorker.pathname, { minWorkers: THREADS, maxWorkers: THREADS, workerType: 'thread' })
      return warmed({ run: (x) => pool.exec(task, [x]) as PromiseLike<number>, close: async () => pool.terminate() })
    }),
}

/** pipevine's `threadPool`, its threads started with `ready()`. */
export function pipevinePool(pv: Pipevine, task: TaskName): Warm<ReturnType<Pipevine['threadPool']>> {
  return new Warm(async () => {
    const pool = pv.threadPool<(seed: number) => number>(taskModule, task, { threads: THREADS })
    await pool.ready()
    // A first run, so that the batch size is learnt before timing, as it would be in a server.
    for await (const _ of pv.pipe(range(THREADS * 64), pv.pool(pool, THREADS), pv.values()));
    return pool
  })
}

/** The row of a warm hand-rolled pool, as the CPU scenarios time it. */
export function handPoolRow(name: string, hand: Warm<HandPool>): Impl {
  return {
    name,
    kind: 'baseline',
    run: async (n) => {
      const out = new Checker()
      await hand.get().run(range(n), out)
      return out.result()
    },
  }
}

/** The row of pipevine over a warm `threadPool`, read with `for await`, as the CPU scenarios time it. */
export function pipevinePoolRow(pv: Pipevine, pooled: Warm<ReturnType<Pipevine['threadPool']>>): Impl {
  return {
    name: 'pipevine',
    kind: 'pipevine',
    run: async (n) => {
      const out = new Checker()
      for await (const value of pv.pipe(range(n), pv.pool(pooled.get(), THREADS), pv.values())) out.add(value as number)
      return out.result()
    },
  }
}

/**
 * A hand-rolled pool of `THREADS` worker_threads kept across runs: `batch` items
 * per message (1: one item per message), two messages in flight per thread.
 */
export class HandPool {
  private readonly workers: Worker[]
  private current: { items: number[]; next: number; received: number; out: Checker; done: () => void; fail: (error: unknown) => void } | undefined

  private constructor(
    task: TaskName,
    private readonly batch: number,
  ) {
    this.workers = range(THREADS).map(() => new Worker(handWorker, { workerData: { fn: task } }))
    for (const worker of this.workers) {
      worker.on('message', (result: number | number[]) => this.received(worker, result))
      worker.on('error', (error) => this.current?.fail(error))
    }
  }

  static async open(task: TaskName, batch: number): Promise<HandPool> {
    const pool = new HandPool(task, batch)
    await pool.run(range(THREADS * 4), new Checker())
    return pool
  }

  run(items: number[], out: Checker): Promise<void> {
    return new Promise((done, fail) => {
      if (items.length === 0) return done()
      this.current = { items, next: 0, received: 0, out, done, fail }
      for (const worker of this.workers) {
        this.send(worker)
        this.send(worker)
      }
    })
  }

  private send(worker: Worker): void {
    const run = this.current!
    const n = run.items.length
    if (run.next >= n) return
    if (this.batch === 1) worker.postMessage(run.items[run.next++])
    else {
      const end = Math.min(run.next + this.batch, n)
      worker.postMessage(run.items.slice(run.next, end))
      run.next = end
    }
  }

  private received(worker: Worker, result: number | number[]): void {
    const run = this.current!
    if (typeof result === 'number') {
      run.out.add(result)
      run.received++
    } else {
      for (const value of result) run.out.add(value)
      run.received += result.length
    }
    if (run.received === run.items.length) run.done()
    else this.send(worker)
  }

  close(): Promise<unknown> {
    return Promise.all(this.workers.map((worker) => worker.terminate()))
  }
}

// ---- many-runs ------------------------------------------------------------------

/** Items per run of many-runs. */
export const RUN_ITEMS = 50

/** `n` items as `n / RUN_ITEMS` separate runs, one after another, each awaited whole. */
async function manyRuns(n: number, oneRun: (items: number[], out: Checker) => Promise<void>): Promise<Check> {
  const out = new Checker()
  const items = range(n)
  for (let start = 0; start < n; start += RUN_ITEMS) await oneRun(items.slice(start, Math.min(n, start + RUN_ITEMS)), out)
  return out.result()
}

/** A run on a peer pool: its items submitted at once, the results taken in submission order. */
function peerRun(pool: () => TaskPool): (items: number[], out: Checker) => Promise<void> {
  return async (items, out) => {
    const results = await Promise.all(items.map((x) => pool().run(x)))
    for (const value of results) out.add(value)
  }
}

/** The many-runs scenario; `pv` is pipevine as the CPU scenarios load it (the built bundle when fresh). */
export function manyRunsScenario(pv: Pipevine, commonNotes: string[]): Scenario {
  const pooled = pipevinePool(pv, 'light')
  const peers = {
    piscina: peerPools.piscina('light'),
    'piscina (concurrentTasksPerWorker: 4)': peerPools.piscina('light', 4),
    tinypool: peerPools.tinypool('light'),
    workerpool: peerPools.workerpool('light'),
  }
  const hand = new Warm(() => HandPool.open('light', Math.ceil(RUN_ITEMS / THREADS)))
  const warm = [pooled, hand, ...Object.values(peers)]
  const runPipevine = (handler: ReturnType<Pipevine['thread']>) => async (items: number[], out: Checker) => {
    for await (const value of pv.pipe(items, pv.pool(handler, THREADS), pv.values())) out.add(value as number)
  }
  const cold = (name: string, kind: Impl['kind'], oneRun: (items: number[], out: Checker) => Promise<void>): Impl => ({ name, kind, scaled: true, run: (n) => manyRuns(n, oneRun) })
  const impls: Impl[] = [
    { name: 'single-thread loop', kind: 'baseline', run: (n) => manyRuns(n, async (items, out) => items.forEach((x) => out.add(light(x)))) },
    { name: `hand-rolled pool (${RUN_ITEMS / THREADS}/msg, warm)`, kind: 'baseline', run: (n) => manyRuns(n, (items, out) => hand.get().run(items, out)) },
    { name: 'pipevine', kind: 'pipevine', run: (n) => manyRuns(n, (items, out) => runPipevine(pooled.get())(items, out)) },
    ...Object.entries(peers).map(([name, pool]): Impl => ({ name, kind: 'peer', run: (n) => manyRuns(n, peerRun(() => pool.get())) })),
    cold('pipevine thread() (threads start per run)', 'pipevine', (items, out) => runPipevine(pv.thread<(seed: number) => number>(taskModule, 'light'))(items, out)),
    cold('piscina (pool per run)', 'baseline', async (items, out) => {
      const pool = new Piscina({ filename: taskModule.href, name: 'light', minThreads: THREADS, maxThreads: THREADS })
      try {
        await peerRun(() => ({ run: (x) => pool.run(x) as Promise<number>, close: () => pool.destroy() }))(items, out)
      } finally {
        await pool.destroy()
      }
    }),
  ]
  const results: number[] = []
  return {
    name: 'many-runs',
    description: `${THREADS} threads, separate runs of ${RUN_ITEMS} tasks of ~20 µs each, one after another, through one warm pool`,
    items: 400 * RUN_ITEMS,
    quickItems: 4 * RUN_ITEMS,
    ordered: false,
    baseline: 'single-thread loop',
    expected: (n) => {
      for (let i = results.length; i < n; i++) results.push(light(i))
      return checkOf(results.slice(0, n))
    },
    peerCapMs: 2_500,
    before: async () => {
      for (const pool of warm) await pool.start()
    },
    after: async () => {
      for (const pool of warm) await pool.stop()
    },
    notes: [
      ...commonNotes.slice(0, 1),
      `Each pool is created, its ${THREADS} threads started and warmed, before timing (scenario.before); each run submits its ${RUN_ITEMS} items and waits for all of them before the next run starts.`,
      'The cold rows start their threads in every run (pipevine `thread(…)`, a piscina per run): measured on fewer runs when slow; they show what a warm pool saves.',
      'Target (issue 13): pipevine ahead of every peer pool, piscina with `concurrentTasksPerWorker` included.',
    ],
    impls,
  }
}
