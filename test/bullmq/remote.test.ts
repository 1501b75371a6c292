import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, pipe, retry, run, type StageError } from '../../src/index.js'
import { remote, serve, type ServeHandle } from '../../src/bullmq.js'
import { range, right } from '../_helpers.js'
import { queueName, redis, runKeys } from './_setup.js'
import type { RedisServer } from './_redis.js'

let server: RedisServer
const servers: ServeHandle[] = []
test.before(async () => {
  server = await redis()
})
test.after.each(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close({ force: true })))
})
test.after(async () => {
  await server.stop()
})

const start = async (queue: string, handler: (item: any, ctx: any) => unknown, options: Record<string, unknown> = {}): Promise<ServeHandle> => {
  const handle = serve(queue, handler, { connection: server.connection, concurrency: 4, ...options })
  servers.push(handle)
  await handle.ready()
  return handle
}

test('remote runs each item in a served handler and emits one result per item', async () => {
  const queue = queueName('basic')
  await start(queue, async (n: number) => n * 2)
  const result = right(await collect(pipe(range(50), remote<number, number>(queue, { connection: server.connection, concurrency: 8 }))))
  assert.equal(result.values.sort((a, b) => a - b), range(50).map((n) => n * 2))
  assert.is(result.report.processed, 50)
  assert.equal(await runKeys(server, queue), [])
})

test.run()
