// remote + serve keep pool's contract, on a real Redis (one redis-server for the file, serving in this process).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Queue } from 'bullmq'
import { collect, kill, left, pipe, retry, right as mkRight, run, StageError, TimeoutError, type Report } from '../../src/index.js'
import { remote, type RemoteContext, type ServeHandle } from '../../src/bullmq.js'
import { deferred, leftOf, range, right, stage, typeError } from '../_helpers.js'
import { jobCounts, queueName, runKeys, redisForFile } from './_setup.js'

const file = redisForFile(test)

const start = (queue: string, handler: (item: any, ctx: RemoteContext<any>) => unknown, options: Record<string, unknown> = {}): Promise<ServeHandle> =>
  file.serve(queue, handler, { concurrency: 4, ...options })
const opts = (extra: Record<string, unknown> = {}) => ({ connection: file.server.connection, concurrency: 8, ...extra })

test('remote runs each item in a served handler and emits one result per item, leaving no job behind', async () => {
  const queue = queueName('basic')
  await start(queue, async (n: number) => n * 2)
  const result = right(await collect(pipe(range(50), remote<number, number>(queue, opts()))))
  assert.equal(result.values.sort((a, b) => a - b), range(50).map((n) => n * 2))
  assert.is(result.report.processed, 50)
  assert.equal(await runKeys(file.server, queue), [])
})

test('ordered: results come back in source order although they finish in reverse', async () => {
  const queue = queueName('ordered')
  await start(queue, (n: number) => new Promise((resolve) => setTimeout(() => resolve(n), (10 - n) * 5)), { concurrency: 10 })
  const result = right(await collect(pipe(range(10), remote<number, number>(queue, opts({ concurrency: 10, ordered: true })))))
  assert.equal(result.values, range(10))
})

test('Either in and out: a Left input passes untouched; a Left or a throw becomes a StageError whose cause keeps name, message and own data', async () => {
  const queue = queueName('either')
  await start(queue, (n: number) => {
    if (n === 1) return left(Object.assign(new RangeError('one is out of range'), { code: 'E_ONE', detail: { n } }))
    if (n === 2) throw Object.assign(new TypeError('two is the wrong type'), { code: 'E_TWO' })
    return mkRight(n * 10)
  })
  const upstream = new StageError('before', 'x', [new Error('upstream')])
  const out: unknown[] = []
  for await (const r of pipe([left(upstream), 0, 1, 2, 3], remote<number, number>(queue, opts({ ordered: true })))) out.push(r)
  assert.is((out[0] as { left: unknown }).left, upstream)
  assert.equal(out[1], mkRight(0))
  const one = (out[2] as { left: StageError }).left
  assert.instance(one, StageError)
  assert.is(one.item, 1)
  assert.is(one.stage, queue)
  const cause = one.cause as Error & { code: string; detail: unknown }
  assert.is(cause.name, 'RangeError')
  assert.is(cause.message, 'one is out of range')
  assert.is(cause.code, 'E_ONE')
  assert.equal(cause.detail, { n: 1 })
  const two = (out[3] as { left: StageError }).left.cause as Error & { code: string }
  assert.is(two.name, 'TypeError')
  assert.is(two.code, 'E_TWO')
  assert.equal(out[4], mkRight(30))
})

test('retries: each attempt is a new job, ctx.attempt counts them, and the StageError keeps every attempt error', async () => {
  const queue = queueName('retries')
  const attempts: Array<[number, number]> = []
  await start(queue, (n: number, ctx) => {
    attempts.push([n, ctx.attempt])
    if (n === 0 && ctx.attempt < 3) throw new Error(`fail ${ctx.attempt}`)
    if (n === 1) throw new Error(`always ${ctx.attempt}`)
    return n
  })
  const result = right(await collect(pipe([0, 1], remote<number, number>(queue, opts({ retries: 2 })))))
  assert.equal(result.values, [0])
  const error = result.errors[0]!
  assert.is(error.attempts, 3)
  assert.equal(error.errors.map((e) => (e as Error).message), ['always 1', 'always 2', 'always 3'])
  assert.equal(attempts.filter(([n]) => n === 0).map(([, a]) => a), [1, 2, 3])
  assert.is(stage(result.report, queue).retried, 4)
})

test('a downstream retry replays the item through the remote stage, and ctx.attempt keeps counting', async () => {
  const queue = queueName('replay')
  const seen: number[] = []
  await start(queue, (n: number, ctx) => {
    seen.push(ctx.attempt)
    if (ctx.attempt < 3) throw new Error('not yet')
    return n + 1
  })
  const result = right(await collect(pipe([41], remote<number, number>(queue, opts()), retry({ retries: 2, baseMs: 1 }))))
  assert.equal(result.values, [42])
  assert.equal(seen, [1, 2, 3])
})

test('timeout: an attempt past it fails with a TimeoutError at once (even when the handler ignores its signal), and its signal aborts', async () => {
  const queue = queueName('timeout')
  const aborted = deferred<unknown>()
  await start(queue, (_n: number, ctx) => {
    ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason))
    return new Promise(() => {}) // never settles
  })
  const started = performance.now()
  const result = right(await collect(pipe([1], remote<number, number>(queue, opts({ timeout: 150 })))))
  const elapsed = performance.now() - started
  const error = result.errors[0]!
  assert.instance(error.cause, TimeoutError)
  assert.is((error.cause as TimeoutError).ms, 150)
  assert.instance(await aborted.promise, TimeoutError)
  assert.ok(elapsed < 1_500, `took ${elapsed} ms`)
})

test('the report and onProgress count the remote stage', async () => {
  const queue = queueName('report')
  await start(queue, (n: number) => (n % 5 === 0 ? left(new Error('fives')) : n))
  const seen: Report[] = []
  const report = right(await run(pipe(range(20), remote<number, number>(queue, opts({ name: 'thumbs' }))), { onProgress: (r) => void seen.push(r), progressMs: 1 }))
  const thumbs = stage(report, 'thumbs')
  assert.is(thumbs.processed, 16)
  assert.is(thumbs.failed, 4)
  assert.is(report.failed, 4)
  assert.ok(seen.length > 0 && seen.some((r) => r.stages.some((s) => s.name === 'thumbs')))
})

test('serve: ctx.env, per-slot state from init, ctx.worker, ctx.stage and a stable ctx.key; dispose runs per slot at close; its report counts', async () => {
  const queue = queueName('ctx')
  const disposed: number[] = []
  let inits = 0
  const keys = new Set<string>()
  const handle = await start(
    queue,
    async (n: number, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 10)) // long enough for both slots to be used
      keys.add(ctx.key)
      ctx.state.set('count', ctx.state.get('count') + 1)
      return { n, env: ctx.env.tag, slot: ctx.state.get('slot'), worker: ctx.worker, stage: ctx.stage }
    },
    { concurrency: 2, env: { tag: 'E' }, name: 'served', init: (ctx: RemoteContext) => ({ slot: `s${ctx.worker}-${++inits}`, count: 0 }), dispose: (state: Map<string, number>) => void disposed.push(state.get('count')!) },
  )
  const result = right(await collect(pipe(range(12), remote<number, any>(queue, opts({ concurrency: 4 })))))
  assert.is(result.values.length, 12)
  for (const v of result.values) {
    assert.is(v.env, 'E')
    assert.is(v.stage, 'served')
    assert.ok(v.slot === `s${v.worker}-1` || v.slot === `s${v.worker}-2`, v.slot)
  }
  assert.is(inits, 2)
  assert.is(keys.size, 12)
  assert.is(handle.report().processed, 12)
  await handle.close()
  assert.equal(disposed.reduce((a, b) => a + b, 0), 12)
})

test('kill() returned by a served handler kills the run', async () => {
  const queue = queueName('kill')
  await start(queue, (n: number) => (n === 3 ? kill('poison 3') : n))
  const error = leftOf(await run(pipe(range(10), remote<number, number>(queue, opts({ concurrency: 2 })))))
  assert.is(error.kind, 'killed')
  assert.is(error.reason, 'poison 3')
})

test('at most `concurrency` jobs of the run are in Redis (getJobCounts), several waiting items go in one addBulk', async () => {
  const queue = queueName('bound')
  const gates: Array<() => void> = []
  const started = deferred()
  await start(queue, () => new Promise<void>((resolve) => {
    gates.push(resolve)
    if (gates.length === 2) started.resolve()
  }), { concurrency: 2 })
  const sizes: number[] = []
  const addBulk = Queue.prototype.addBulk
  Queue.prototype.addBulk = function (this: Queue, jobs: any) {
    if (this.name === queue) sizes.push(jobs.length)
    return addBulk.call(this, jobs)
  }
  const observer = new Queue(queue, { connection: file.server.connection })
  try {
    const running = run(pipe(range(30), remote<number, number>(queue, opts({ concurrency: 5 }))))
    await started.promise
    const counts: number[] = []
    let released = 0
    while (released < 30) {
      counts.push(await jobCounts(observer))
      // release what is running now, and look again
      while (gates.length > 0) (gates.shift()!(), released++)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    const report = right(await running)
    assert.is(report.processed, 30)
    assert.ok(Math.max(...counts) <= 5, `counts ${counts}`)
    assert.ok(counts.some((c) => c === 5), `the bound was reached: ${counts}`)
    assert.is(sizes[0], 5, `first addBulk had ${sizes[0]} jobs`)
    assert.is(await jobCounts(observer), 0)
  } finally {
    Queue.prototype.addBulk = addBulk
    await observer.close()
  }
})

test('close({ force: true }) aborts the running jobs and hands them back to the queue: another worker runs them, each item emitted once', async () => {
  const queue = queueName('force')
  const started = deferred()
  let abortedOnFirst = 0
  const first = await start(queue, (_n: number, ctx: RemoteContext) => new Promise((_resolve, reject) => {
    started.resolve()
    ctx.signal.addEventListener('abort', () => (abortedOnFirst++, reject(ctx.signal.reason)))
  }), { concurrency: 2 })
  const running = collect(pipe(range(6), remote<number, number>(queue, opts({ concurrency: 2 }))))
  await started.promise
  await first.close({ force: true })
  assert.ok(abortedOnFirst >= 1)
  assert.is(first.report().failed, 0, 'a job handed back is not a failure')
  await start(queue, async (n: number) => n + 100)
  const result = right(await running)
  assert.is(result.errors.length, 0)
  assert.equal(result.values.sort((a, b) => a - b), range(6).map((n) => n + 100))
})

test("serve: a failing init fails that job with init's error, and the slot's next job tries init again", async () => {
  const queue = queueName('init')
  let inits = 0
  await start(queue, (n: number, ctx) => `${n}:${ctx.state.get('conn')}`, {
    concurrency: 1,
    init: () => {
      if (++inits === 1) throw Object.assign(new Error('no connection yet'), { code: 'E_INIT' })
      return { conn: 'c2' }
    },
  })
  const result = right(await collect(pipe([1, 2, 3], remote<number, string>(queue, opts({ concurrency: 1, ordered: true })))))
  assert.is(result.errors.length, 1)
  assert.is((result.errors[0]!.cause as { code: string }).code, 'E_INIT')
  assert.equal(result.values, ['2:c2', '3:c2'])
  assert.is(inits, 2)
})

test('bad arguments throw a TypeError naming remote and the argument', () => {
  const connection = { host: '127.0.0.1', port: 1 }
  typeError(() => remote('', { connection }), 'remote', 'queue')
  typeError(() => remote('a:b', { connection }), 'remote', 'queue')
  typeError(() => remote('q', { connection, concurrency: 0 }), 'remote', 'concurrency')
  typeError(() => remote('q', { connection, retries: -1 }), 'remote', 'retries')
  typeError(() => remote('q', { connection, timeout: 0 }), 'remote', 'timeout')
  typeError(() => remote('q', { connection, codec: { encode: 1 } as never }), 'remote', 'codec.encode')
  typeError(() => remote('q', { connection, wat: 1 } as never), 'remote', 'wat')
  typeError(() => remote('q', undefined as never), 'remote', 'options')
  typeError(() => remote('q', {} as never), 'remote', 'connection')
})

test.run()
