// One worker process: serves the `fingerprints` queue until SIGTERM/SIGINT.
// Run as many as you like, on any machine that reaches Redis:
//   REDIS_HOST=10.0.0.5 REDIS_PORT=6379 REDIS_PASSWORD=… node --import tsx examples/scale-out/worker.ts
import { serve } from '../../src/bullmq.js'
import { fingerprint } from './handler.js'
import { redisConnection } from './connection.js'

const connection = redisConnection()
const worker = serve('fingerprints', fingerprint, {
  connection,
  concurrency: Number(process.env.CONCURRENCY ?? 8),
  // how soon a dead worker's job is handed to another: lockDuration + up to stalledInterval
  lockDuration: 10_000,
  stalledInterval: 5_000,
})
await worker.ready()
process.send?.('ready')
console.error(`[worker ${process.pid}] serving "fingerprints" on ${connection.host}:${connection.port}`)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    // graceful: running jobs finish first; a second signal would kill us, and the stalled check hands our jobs on
    void worker.close().then(() => {
      console.error(`[worker ${process.pid}] done: ${JSON.stringify(worker.report())}`)
      process.exit(0)
    })
  })
}
