// Where the time of a cpu-pool run goes, run after run (Linux only: it reads each thread's CPU time
// from /proc/self/task/*/schedstat). The hand-rolled pool, workerpool and pipevine (the built
// dist/esm: `node build.mjs` first) each get a warm pool of 2 threads, as in bench/cpu-pools.ts,
// then run 400 tasks of ~5 ms in rotating order with a full GC before each run, as the bench
// harness does. Per block of rounds it prints medians of:
//   wall      the run's time
//   main      CPU of the main thread
//   busiest   CPU of the busier pool thread (its tasks, and its side of the messaging)
//   others    CPU of every other thread: V8's helper threads (optimising compiles, GC)
//   off-cpu   wall - busiest: how long the busier pool thread was not running (waiting for a
//             message, or for a core the main thread or a helper thread held)
//   node --expose-gc bench/cpu-warmup.mjs [rounds=20] [block=5]
import { readdirSync, readFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import workerpool from 'workerpool'

const ROUNDS = Number(process.argv[2] ?? 20)
const BLOCK = Number(process.argv[3] ?? 5)
const N = 400
const THREADS = 2
const range = (n) => Array.from({ length: n }, (_, i) => i)
const workers = new URL('./workers/', import.meta.url)
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')

/** CPU ms of every thread of this process, by thread id. */
function threadCpu() {
  const out = new Map()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6)
    } catch {
      // the thread ended meanwhile
    }
  }
  return out
}

async function handPool() {
  const threads = range(THREADS).map(() => new Worker(new URL('hand-worker.mjs', workers), { workerData: { fn: 'heavy' } }))
  let run
  for (const thread of threads) {
    thread.on('message', () => {
      if (++run.received === run.n) run.done()
      else if (run.next < run.n) thread.postMessage(run.next++)
    })
  }
  const once = (n) => new Promise((done) => {
    run = { n, next: 0, received: 0, done }
    for (const thread of threads) for (let i = 0; i < 2 && run.next < n; i++) thread.postMessage(run.next++)
  })
  await once(THREADS * 4)
  return { name: 'hand-rolled pool', run: once, close: () => Promise.all(threads.map((t) => t.terminate())) }
}

async function workerpoolPool() {
  const pool = workerpool.pool(new URL('workerpool-worker.mjs', workers).pathname, { minWorkers: THREADS, maxWorkers: THREADS, workerType: 'thread' })
  await Promise.all(range(THREADS * 4).map((x) => pool.exec('heavy', [x])))
  // Fed 64 tasks at a time, as bench/cpu.ts feeds the library pools.
  const once = (n) => new Promise((resolve, reject) => {
    let next = 0
    let active = 0
    let done = 0
    const pump = () => {
      for (; active < 64 && next < n; active++) pool.exec('heavy', [next++]).then(() => (active--, ++done === n ? resolve() : pump()), reject)
    }
    pump()
  })
  return { name: 'workerpool', run: once, close: () => pool.terminate() }
}

async function pipevinePool() {
  const pv = await import('../dist/esm/index.js')
  const pool = pv.threadPool(new URL('cpu-task.mjs', workers), 'heavy', { threads: THREADS })
  await pool.ready()
  const once = async (n) => {
    for await (const _ of pv.pipe(range(n), pv.pool(pool, THREADS), pv.values()));
  }
  await once(THREADS * 64)
  return { name: 'pipevine', run: once, close: () => pool.close() }
}

const pools = [await handPool(), await workerpoolPool(), await pipevinePool()]
for (const pool of pools) await pool.run(N / 10) // the harness's warm-up run
const rows = new Map(pools.map((pool) => [pool.name, []]))
for (let round = 0; round < ROUNDS; round++) {
  const shift = round % pools.length
  const order = [...pools.slice(shift), ...pools.slice(0, shift)]
  for (const pool of round % 2 ? order.reverse() : order) {
    globalThis.gc()
    const before = threadCpu()
    const t0 = performance.now()
    await pool.run(N)
    const wall = performance.now() - t0
    const used = [...threadCpu()].map(([tid, ms]) => [tid, ms - (before.get(tid) ?? 0)])
    const main = used.find(([tid]) => Number(tid) === process.pid)[1]
    const rest = used.filter(([tid]) => Number(tid) !== process.pid).map(([, ms]) => ms).sort((a, b) => b - a)
    // The two busiest other threads are the pool's; the rest are idle pool threads and V8's helpers.
    rows.get(pool.name).push({ wall, main, busiest: rest[0], others: rest.slice(2).reduce((a, b) => a + b, 0), offCpu: wall - rest[0] })
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const ms = (x) => x.toFixed(1).padStart(7)
console.log(`cpu-pool, ${N} tasks of ~5 ms on ${THREADS} threads; medians in ms per block of ${BLOCK} rounds`)
console.log(`${'rounds'.padEnd(8)}${'implementation'.padEnd(18)}${['wall', 'main', 'busiest', 'others', 'off-cpu'].map((h) => h.padStart(8)).join('')}`)
for (let start = 0; start < ROUNDS; start += BLOCK) {
  for (const [name, all] of rows) {
    const block = all.slice(start, start + BLOCK)
    const cells = ['wall', 'main', 'busiest', 'others', 'offCpu'].map((key) => ms(median(block.map((row) => row[key]))))
    console.log(`${`${start}-${start + block.length - 1}`.padEnd(8)}${name.padEnd(18)}${cells.map((c) => ` ${c}`).join('')}`)
  }
}
for (const pool of pools) await pool.close()
