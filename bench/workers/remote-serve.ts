// A serving process of the `remote` bench scenario: BENCH_MODE=pipevine serves with pipevine/bullmq's
// serve(), BENCH_MODE=raw with a plain BullMQ Worker; both run `async (x) => (await sleep(BENCH_DELAY), x * 2)`.
import { Worker } from 'bullmq'
import { serve } from '../../src/bullmq.js'

const connection = { host: '127.0.0.1', port: Number(process.env.BENCH_PORT) }
const queue = process.env.BENCH_QUEUE!
const concurrency = Number(process.env.BENCH_CONCURRENCY)
const delay = Number(process.env.BENCH_DELAY)
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const handler = async (x: number): Promise<number> => (await sleep(delay), x * 2)

let close: () => Promise<void>
if (process.env.BENCH_MODE === 'raw') {
  const worker = new Worker(queue, (job) => handler(job.data.x as number), { connection, concurrency })
  await worker.waitUntilReady()
  close = () => worker.close()
} else {
  const worker = serve(queue, handler, { connection, concurrency })
  await worker.ready()
  close = () => worker.close()
}
process.send?.('ready')
process.once('SIGTERM', () => void close().finally(() => process.exit(0)))
process.once('disconnect', () => void close().finally(() => process.exit(0)))
