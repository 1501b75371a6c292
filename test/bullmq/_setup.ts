import { Queue } from 'bullmq'
import type { Test } from 'uvu'
import { serve, type RemoteContext, type ServeHandle, type ServeOptions } from '../../src/bullmq.js'
import { startRedis, type RedisServer } from './_redis.js'

/*
 * Shared by the pipevine/bullmq test files: one redis-server per file, a fresh
 * queue name per test, and a look at what a queue holds in Redis.
 */

let counter = 0
export const queueName = (what: string): string => `${what}-${process.pid}-${++counter}`

export async function redis(): Promise<RedisServer> {
  return startRedis()
}

/** A file's redis-server (started before its first test, stopped after its last) and the `serve` handles its tests open (force-closed after each test). */
export interface RedisFile {
  readonly server: RedisServer
  /** `serve` on this file's Redis, closed after the test; resolves once it is ready. */
  serve(queue: string, handler: (item: any, ctx: RemoteContext<any>) => unknown, options?: Omit<ServeOptions, 'connection'>): Promise<ServeHandle>
}

export function redisForFile(suite: Test): RedisFile {
  const servers: ServeHandle[] = []
  const file: RedisFile = {
    server: undefined as unknown as RedisServer,
    async serve(queue, handler, options = {}) {
      const handle = serve(queue, handler, { connection: file.server.connection, ...options })
      servers.push(handle)
      await handle.ready()
      return handle
    },
  }
  suite.before(async () => {
    ;(file as { server: RedisServer }).server = await redis()
  })
  suite.after.each(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close({ force: true })))
  })
  suite.after(async () => {
    await file.server.stop()
  })
  return file
}

/** Every key in Redis under the queue's prefix, but the queue's own (meta, id counter, events streams). */
export async function runKeys(server: RedisServer, queue: string): Promise<string[]> {
  const q = new Queue(queue, { connection: server.connection })
  try {
    const client = await q.getBackend().client
    const keys = ((await client.runCommand('keys', [`bull:${queue}*`])) as string[]).sort()
    return keys.filter((key) => !/:(meta|id|events|stalled-check)$/.test(key))
  } finally {
    await q.close()
  }
}

/** waiting + active + … of a queue, as BullMQ counts them. */
export async function jobCounts(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed')
  return Object.values(counts).reduce((a, b) => a + b, 0)
}
