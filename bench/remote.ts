/**
 * The `remote` scenario (issue 16): a stage on BullMQ served by 1, 2 and 4
 * processes, pipevine's `remote` + `serve` against raw BullMQ (`addBulk` of every
 * job + `Worker` + `QueueEvents` counting `completed`), on a redis-server of its
 * own (127.0.0.1, `--save ""`). Rows: a 5 ms async handler at concurrency 16 per
 * process, 4,000 items; a 50 ms one at concurrency 4 per process, 400 items. The
 * in-process `pool` at the same total concurrency gives `remote`'s overhead per item.
 * Each (implementation, processes) pair starts its processes once, then runs warm-up + measured rounds.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Queue, QueueEvents } from 'bullmq'
import { collect, pipe, pool } from '../src/index.js'
import { remote } from '../src/bullmq.js'

export interface RemoteRow {
  handler: string
  processes: number
  items: number
  raw: number | undefined
  pipevine: number | undefined
  pool: number | undefined
  problem?: string
}

const SERVE = fileURLToPath(new URL('./workers/remote-serve.ts', import.meta.url))
const PROCESSES = [1, 2, 4]
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

async function startRedis(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`the remote scenario needs redis-server (apt-get install redis-server): ${error.message}`)))
    child.stdout!.on('data', (chunk: Buffer) => String(chunk).includes('Ready to accept connections') && resolve())
  })
  return { port, child }
}

async function startServing(mode: 'raw' | 'pipevine', port: number, queue: string, processes: number, concurrency: number, delay: number): Promise<ChildProcess[]> {
  const env = { ...process.env, BENCH_MODE: mode, BENCH_PORT: String(port), BENCH_QUEUE: queue, BENCH_CONCURRENCY: String(concurrency), BENCH_DELAY: String(delay) }
  return Promise.all(
    Array.from({ length: processes }, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', SERVE], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      await new Promise((resolve, reject) => (child.once('message', resolve), child.once('exit', (code) => reject(new Error(`serving process exited (${code})`)))))
      return child
    }),
  )
}

async function stopServing(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((child) => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))))
}

/** Raw BullMQ: every job added at once (addBulk in chunks of 1,000), results counted from QueueEvents. */
async function runRaw(port: number, queue: string, n: number): Promise<number> {
  const connection = { host: '127.0.0.1', port }
  const q = new Queue(queue, { connection })
  // Events from Redis's clock now on: after waitUntilReady alone, the first XREAD ('$') may come after the first results and miss them.
  const client = await q.getBackend().client
  const [seconds, micros] = (await client.runCommand('time', [])) as [string, string]
  const events = new QueueEvents(queue, { connection, autorun: false, lastEventId: `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1}-0` })
  void events.run()
  let done = 0
  let sum = 0
  const finished = new Promise<void>((resolve) =>
    events.on('completed', ({ returnvalue }) => {
      sum += Number(returnvalue)
      if (++done === n) resolve()
    }),
  )
  for (let start = 0; start < n; start += 1_000) {
    const jobs = []
    for (let x = start; x < Math.min(n, start + 1_000); x++) jobs.push({ name: 'x', data: { x }, opts: { removeOnComplete: true, removeOnFail: true } })
    await q.addBulk(jobs)
  }
  await finished
  await Promise.all([events.close(), q.close()])
  return sum
}

async function runPipevine(port: number, queue: string, n: number, concurrency: number): Promise<number> {
  const result = await collect(pipe(Array.from({ length: n }, (_, x) => x), remote<number, number>(queue, { connection: { host: '127.0.0.1', port }, concurrency })))
  if (result._tag === 'Left') throw result.left
  if (result.right.errors.length > 0) throw result.right.errors[0]
  return result.right.values.reduce((a, b) => a + b, 0)
}

async function runPool(n: number, concurrency: number, delay: number): Promise<number> {
  const result = await collect(pipe(Array.from({ length: n }, (_, x) => x), pool(async (x: number) => (await sleep(delay), x * 2), concurrency)))
  if (result._tag === 'Left') throw result.left
  return result.right.values.reduce((a, b) => a + b, 0)
}

/** Median ms of `runs` measured runs after one warm-up; throws when a run's sum is wrong. */
async function measure(runs: number, expected: number, once: () => Promise<number>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i <= runs; i++) {
    const started = performance.now()
    let timer: ReturnType<typeof setTimeout> | undefined
    const sum = await Promise.race([once(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('a run took over 120 s')), 120_000)))]).finally(() => clearTimeout(timer))
    if (sum !== expected) throw new Error(`wrong result: sum ${sum}, expected ${expected}`)
    if (i > 0) times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]!
}

export async function runRemote(options: { quick: boolean; runs: number; log: (line: string) => void }): Promise<RemoteRow[]> {
  const { quick, log } = options
  const runs = quick ? 1 : options.runs
  const configs = [
    { handler: '5 ms × c16', delay: 5, concurrency: 16, items: quick ? 400 : 4_000 },
    { handler: '50 ms × c4', delay: 50, concurrency: 4, items: quick ? 40 : 400 },
  ]
  const redis = await startRedis()
  const rows: RemoteRow[] = []
  let queues = 0
  try {
    for (const config of configs) {
      for (const processes of quick ? [1, 2] : PROCESSES) {
        const { items, delay, concurrency } = config
        const expected = items * (items - 1)
        const row: RemoteRow = { handler: config.handler, processes, items, raw: undefined, pipevine: undefined, pool: undefined }
        try {
          for (const mode of ['raw', 'pipevine'] as const) {
            const queue = `bench-${mode}-${++queues}`
            const children = await startServing(mode, redis.port, queue, processes, concurrency, delay)
            try {
              // pipevine keeps at most `concurrency` jobs in Redis: twice the serving slots, so a job waits for each slot as it frees.
              const ms = await measure(runs, expected, () => (mode === 'raw' ? runRaw(redis.port, queue, items) : runPipevine(redis.port, queue, items, 2 * processes * concurrency)))
              row[mode] = (items / ms) * 1000
            } finally {
              await stopServing(children)
            }
          }
          row.pool = (items / (await measure(runs, expected, () => runPool(items, processes * concurrency, delay)))) * 1000
        } catch (error) {
          row.problem = error instanceof Error ? error.message : String(error)
        }
        rows.push(row)
        log(remoteLine(row))
      }
    }
  } finally {
    redis.child.kill('SIGKILL')
  }
  return rows
}

const rate = (value: number | undefined): string => (value === undefined ? 'n/a' : Math.round(value).toLocaleString('en-US'))

function remoteLine(row: RemoteRow): string {
  const ratio = row.raw && row.pipevine ? (row.pipevine / row.raw).toFixed(2) : 'n/a'
  // Per item, over the in-process pool at the same total concurrency: (1/remote − 1/pool) in µs.
  const overhead = row.pipevine && row.pool ? ((1 / row.pipevine - 1 / row.pool) * 1e6).toFixed(0) : 'n/a'
  return `| ${row.handler} | ${row.processes} | ${row.items.toLocaleString('en-US')} | ${rate(row.raw)} | ${rate(row.pipevine)} | ${ratio} | ${rate(row.pool)} | ${overhead} |${row.problem ? ` ${row.problem}` : ''}`
}

export function remoteTable(rows: RemoteRow[]): string {
  const head = '| handler × concurrency per process | processes | items | raw BullMQ jobs/s | pipevine remote jobs/s | × raw | in-process pool items/s | remote overhead µs/item |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  const scaling = (key: 'raw' | 'pipevine', handler: string): string => {
    const byP = rows.filter((r) => r.handler === handler)
    const one = byP.find((r) => r.processes === 1)?.[key]
    return byP.map((r) => (one && r[key] ? `${r.processes}: ${(r[key]! / one).toFixed(2)}×` : `${r.processes}: n/a`)).join(', ')
  }
  const handlers = [...new Set(rows.map((r) => r.handler))]
  const notes = handlers.map((h) => `- ${h}, scaling over 1 process — raw: ${scaling('raw', h)}; pipevine: ${scaling('pipevine', h)}.`)
  return [head, ...rows.map(remoteLine), '', ...notes].join('\n')
}
