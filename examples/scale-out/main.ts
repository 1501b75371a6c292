// The pipeline's process: reads documents, fingerprints them on the worker processes (the middle,
// `remote` stage), and stores the results locally. Run it alone against a running Redis and workers:
//   REDIS_HOST=10.0.0.5 REDIS_PORT=6379 REDIS_PASSWORD=… node --import tsx examples/scale-out/main.ts 2000
import { collect, pipe, pool, retry } from '../../src/index.js'
import { remote } from '../../src/bullmq.js'
import type { Doc, Fingerprint } from './handler.js'
import { redisConnection } from './connection.js'

export async function main(connection: { host: string; port: number; password?: string }, count: number) {
  async function* documents(): AsyncGenerator<Doc> {
    for (let id = 1; id <= count; id++) yield { id, text: `document ${id} `.repeat(20) }
  }
  const stored = new Map<number, string>()
  const result = await collect(
    pipe(
      documents(),
      // at most 64 jobs of this run in Redis at once: the source is read no faster than the workers go
      remote<Doc, Fingerprint>('fingerprints', { connection, concurrency: 64, timeout: 10_000, retries: 1 }),
      retry({ retries: 2, baseMs: 100 }),
      pool((f: Fingerprint) => (stored.set(f.id, f.sha256), f.pid), { concurrency: 4, name: 'store' }),
    ),
  )
  if (result._tag === 'Left') throw result.left
  const { values: pids, errors, report } = result.right
  const perWorker: Record<string, number> = {}
  for (const pid of pids) perWorker[pid] = (perWorker[pid] ?? 0) + 1
  return { stored: stored.size, failed: errors.length, perWorker, ms: Math.round(report.durationMs) }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const connection = redisConnection()
  console.log(JSON.stringify(await main(connection, Number(process.argv[2] ?? 1000))))
}
