// Every way a run ends removes its waiting jobs, aborts its active ones and leaves no key of the run in Redis.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Queue } from 'bullmq'
import { collect, kill, pipe, pool, run } from '../../src/index.js'
import { remote, type RemoteContext } from '../../src/bullmq.js'
import { leftOf, range, withTimeout } from '../_helpers.js'
import { jobCounts, queueName, runKeys, redisForFile } from './_setup.js'

const file = redisForFile(test)

/** A served handler that runs until its signal aborts; `started` counts jobs begun, `aborted` those whose signal fired. */
async function blocking(queue: string, concurrency = 2) {
  const seen = { started: 0, aborted: 0 }
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const handle = await file.serve(
    queue,
    (_n: number, ctx: RemoteContext) =>
      new Promise((_resolve, reject) => {
        seen.started++
        for (const w of waiters.filter((w) => seen.started >= w.n)) (waiters.splice(waiters.indexOf(w), 1), w.resolve())
        ctx.signal.addEventListener('abort', () => (seen.aborted++, reject(ctx.signal.reason)))
      }),
    { concurrency },
  )
  const startedAtLeast = (n: number): Promise<void> => (seen.started >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })))
  return { seen, handle, startedAtLeast }
}

/** Asserts the run left nothing in Redis: no job of any state, no key but the queue's own. */
async function assertNothingLeft(queue: string): Promise<void> {
  const observer = new Queue(queue, { connection: file.server.connection })
  try {
    assert.is(await jobCounts(observer), 0, 'jobs left in the queue')
  } finally {
    await observer.close()
  }
  assert.equal(await runKeys(file.server, queue), [])
}

const opts = (extra: Record<string, unknown> = {}) => ({ connection: file.server.connection, concurrency: 5, ...extra })

test('cancel: the run ends promptly, the waiting jobs are removed, the active ones aborted, and no key is left', async () => {
  const queue = queueName('cancel')
  const { seen, startedAtLeast } = await blocking(queue, 2)
  const ac = new AbortController()
  const running = run(pipe(range(20), remote<number, number>(queue, opts())), { signal: ac.signal })
  await startedAtLeast(2)
  const t0 = performance.now()
  ac.abort()
  const error = leftOf(await withTimeout(running, 5_000, 'the cancelled run'))
  assert.is(error.kind, 'cancelled')
  assert.ok(performance.now() - t0 < 1_000, `the run took ${performance.now() - t0} ms to end`)
  assert.is(seen.aborted, 2)
  await assertNothingLeft(queue)
})

test('break out of for await: the same', async () => {
  const queue = queueName('break')
  await file.serve(queue, async (n: number) => n, { concurrency: 2 })
  let count = 0
  for await (const r of pipe(range(100), remote<number, number>(queue, opts()))) {
    assert.is(r._tag, 'Right')
    if (++count === 3) break
  }
  await assertNothingLeft(queue)
})

test('kill() from a served handler aborts the other active jobs and leaves nothing', async () => {
  const queue = queueName('kill')
  let aborted = 0
  let started = 0
  await file.serve(
    queue,
    (n: number, ctx: RemoteContext) =>
      n === 3 ? kill('poison') : new Promise((_resolve, reject) => (started++, ctx.signal.addEventListener('abort', () => (aborted++, reject(ctx.signal.reason))))),
    { concurrency: 5 },
  )
  const error = leftOf(await withTimeout(run(pipe(range(20), remote<number, number>(queue, opts()))), 5_000, 'killed run'))
  assert.is(error.kind, 'killed')
  assert.is(error.reason, 'poison')
  assert.ok(started > 0)
  assert.is(aborted, started)
  await assertNothingLeft(queue)
})

test("the run's timeout: the same", async () => {
  const queue = queueName('timeout')
  const { seen } = await blocking(queue, 3)
  const error = leftOf(await withTimeout(run(pipe(range(20), remote<number, number>(queue, opts())), { signal: AbortSignal.timeout(300) }), 5_000, 'timed-out run'))
  assert.is(error.kind, 'timeout')
  assert.is(seen.aborted, seen.started)
  await assertNothingLeft(queue)
})

test('failFast: the same', async () => {
  const queue = queueName('failfast')
  await file.serve(queue, (n: number, ctx: RemoteContext) => (n === 2 ? Promise.reject(new Error('two')) : new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))), { concurrency: 4 })
  const error = leftOf(await withTimeout(run(pipe(range(10), remote<number, number>(queue, opts())), { failFast: true }), 5_000, 'failFast run'))
  assert.is(error.kind, 'failed')
  await assertNothingLeft(queue)
})

test('finished jobs leave Redis as their results arrive: a long run keeps Redis flat', async () => {
  const queue = queueName('flat')
  await file.serve(queue, async (n: number) => n, { concurrency: 8 })
  const observer = new Queue(queue, { connection: file.server.connection })
  let most = 0
  try {
    const result = await collect(
      pipe(
        range(600),
        remote<number, number>(queue, opts({ concurrency: 8 })),
        pool(async (n: number) => {
          if (n % 50 === 0) most = Math.max(most, await jobCounts(observer))
          return n
        }),
      ),
    )
    assert.is(result._tag, 'Right')
    assert.ok(most <= 8, `at most ${most} jobs of every state were in Redis`)
  } finally {
    await observer.close()
  }
  await assertNothingLeft(queue)
})

test.run()
