import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { map } from 'ix/asynciterable/operators/map'
import { take } from 'ix/asynciterable/operators/take'
import { collect, fork, isRight, mix, pipe, pool, retry, right, values, type Either, type StageContext } from '../../src/index.js'
import { counting, deferred, drain, withTimeout, idle, typeError, isL } from '../_helpers.js'

/**
 * A handler that counts the workers a stage creates: a stage creates a worker
 * only to run an item on it, and each worker has its own `ctx.worker`.
 */
function countingWorkers<A, B>(fn: (item: A) => B | Promise<B>): { handler: (item: A, ctx: StageContext) => B | Promise<B>; spawned: () => number } {
  const workers = new Set<number>()
  const handler = (item: A, ctx: StageContext): B | Promise<B> => {
    workers.add(ctx.worker)
    return fn(item)
  }
  return { handler, spawned: () => workers.size }
}

// ---- workers are created as items arrive -------------------------------------

test('a pool creates a worker only when an item finds none idle, never more than items in flight', async () => {
  const { handler, spawned } = countingWorkers(async (n: number) => n * 2)
  const out = await withTimeout(drain(pipe([1, 2, 3], pool(handler, { concurrency: 1_000_000 }), values())), 2_000, 'a pool of a million workers over 3 items')
  assert.equal(out.sort(), [2, 4, 6])
  assert.ok(spawned() <= 3, `created ${spawned()} workers for 3 items`)
})

test('a pool whose items finish one at a time reuses its one idle worker', async () => {
  const { handler, spawned } = countingWorkers((n: number) => n)
  async function* oneByOne(): AsyncGenerator<number> {
    for (let i = 0; i < 20; i++) yield i
  }
  const out = await drain(pipe(oneByOne(), pool(handler, { concurrency: 64 }), values()))
  assert.is(out.length, 20)
  assert.is(spawned(), 1, 'a synchronous handler frees its worker before the next item arrives')
})

test('concurrency: Infinity is accepted by pool and retry, and runs every item at once', async () => {
  const gate = deferred()
  let active = 0
  let peak = 0
  const handler = async (n: number) => {
    active++
    peak = Math.max(peak, active)
    if (active === 50) gate.resolve()
    await gate.promise
    active--
    return n
  }
  const items = Array.from({ length: 50 }, (_, i) => i)
  const out = await withTimeout(drain(pipe(items, pool(handler, { concurrency: Infinity }), retry({ concurrency: Infinity }), values())), 2_000)
  assert.is(out.length, 50)
  assert.is(peak, 50, 'an unbounded pool runs every item it holds at once')
})

test('with concurrency: Infinity, a consumer that stops reading stops the pulling', async () => {
  const { source, pulled } = counting()
  const iterator = pipe(source, pool((n: number) => n, { concurrency: Infinity }))[Symbol.asyncIterator]()
  const first = await iterator.next()
  assert.equal(first.value, right(0))
  await idle()
  assert.ok(pulled() <= 4, `pulled ${pulled()} items for a consumer that read one (buffer 1)`)
  await iterator.return?.()
})

test('an endless synchronous source through an unbounded pool still lets the event loop run', async () => {
  function* naturals(): Generator<number> {
    for (let n = 0; ; n++) yield n
  }
  const out: number[] = []
  const loop = async (): Promise<void> => {
    for await (const n of pipe(naturals(), pool(async (n: number) => n, { concurrency: Infinity }), values())) {
      out.push(n)
      if (out.length === 10) break
    }
  }
  // Without a pause between sweeps the stage would pull forever inside one synchronous call, and no timer could fire.
  await withTimeout(loop(), 2_000, 'the loop')
  assert.is(out.length, 10)
})

test('an ordered pool of huge concurrency allocates nothing in proportion to it, and keeps order', async () => {
  const before = process.memoryUsage().heapUsed
  const items = Array.from({ length: 200 }, (_, i) => i)
  // Later items finish first, so the ordered output must hold them back.
  const handler = (n: number) => new Promise<number>((resolve) => setTimeout(() => resolve(n), 20 - (n % 20)))
  const out = await withTimeout(drain(pipe(items, pool(handler, { concurrency: 1e8, ordered: true }), values())), 2_000)
  assert.equal(out, items)
  const grown = process.memoryUsage().heapUsed - before
  assert.ok(grown < 50e6, `the heap grew by ${Math.round(grown / 1e6)} MB`)
  const infinite = await drain(pipe(items, pool(handler, { concurrency: Infinity, ordered: true }), values()))
  assert.equal(infinite, items)
})

test('an ordered stage whose output is pulled as it emits keeps every item, Lefts passing through included', async () => {
  // The stage below pulls inside the emit, so the next item (a Left passing through) arrives while the head moves.
  const failOdd = (n: number) => (n % 2 === 1 ? Promise.reject(new Error(`odd ${n}`)) : n)
  const later = (n: number) => new Promise<number>((resolve) => setTimeout(() => resolve(n), 1))
  const items = Array.from({ length: 12 }, (_, i) => i)
  const flow = pipe(items, pool(failOdd, 4), pool(later, { concurrency: 1, buffer: 0, ordered: true }), pool((n: number) => n, 2))
  const out = await withTimeout(drain(flow), 2_000, 'the ordered stage')
  assert.equal(out.map((e) => (isL(e) ? (e.left.item as number) : e.right)).sort((a, b) => a - b), items)
})

test('fork takes any number of items at once, but pool with fork refuses an unbounded number of branches', async () => {
  const { handler, spawned } = countingWorkers(async (n: number) => n + 1)
  const out = await drain(pipe([1, 2, 3], fork([handler, (n: number) => n * 10], ([a, b]) => a + b, { concurrency: Infinity }), values()))
  assert.equal(out.sort((a, b) => a - b), [12, 23, 34])
  assert.ok(spawned() <= 3, `created ${spawned()} branch workers for 3 items`)
  typeError(() => pool((n: number) => n, { concurrency: Infinity, fork: (r) => r }), 'pool', 'concurrency', 'fork')
  typeError(() => pool((n: number) => n, { concurrency: -Infinity }), 'pool', 'concurrency')
  typeError(() => pool((n: number) => n, { concurrency: Number.NaN }), 'pool', 'concurrency')
  typeError(() => retry({ concurrency: -Infinity }), 'retry', 'concurrency')
})

// ---- replays behind a foreign operator ---------------------------------------

test('behind an IxJS operator, retry replays stay within the stage\'s concurrency and its workers\' init', async () => {
  let active = 0
  let peak = 0
  let inits = 0
  let disposes = 0
  const tried = new Set<number>()
  const states = new Set<unknown>()
  const handler = async (n: number, ctx: StageContext) => {
    active++
    peak = Math.max(peak, active)
    states.add(ctx.state)
    await new Promise((resolve) => setImmediate(resolve))
    active--
    if (!tried.has(n)) {
      tried.add(n)
      throw new Error(`first attempt at ${n} fails`)
    }
    return n
  }
  const items = Array.from({ length: 40 }, (_, i) => i)
  const flow = pipe(
    items,
    pool(handler, {
      concurrency: 2,
      init: () => {
        inits++
        return { opened: true }
      },
      dispose: () => {
        disposes++
      },
    }),
    map((e: Either<unknown, number>) => e),
    retry({ retries: 1, backoff: 'none', concurrency: 64 }),
  )
  const result = await withTimeout(collect(flow), 5_000)
  assert.ok(isRight(result))
  const { values: got, errors } = result.right
  assert.is(errors.length, 0)
  assert.equal((got as number[]).sort((a, b) => a - b), items, 'every item recovered exactly once')
  assert.ok(peak <= 2, `ran ${peak} handler calls at once with concurrency 2`)
  assert.ok(inits <= 2, `ran init ${inits} times for a stage of 2 workers`)
  assert.is(disposes, inits, 'every worker that ran init was disposed once')
  assert.ok(states.size <= 2, 'replays ran with the stage\'s own worker states')
})

test('behind an IxJS operator, a replay that fails again comes out as one Left with every attempt', async () => {
  let inits = 0
  let disposes = 0
  const calls = new Map<number, number>()
  const handler = async (n: number) => {
    calls.set(n, (calls.get(n) ?? 0) + 1)
    await new Promise((resolve) => setImmediate(resolve))
    if (n % 5 === 0) throw new Error(`item ${n} always fails`)
    return n
  }
  const items = Array.from({ length: 20 }, (_, i) => i)
  const flow = pipe(
    items,
    pool(handler, { concurrency: 3, init: () => void inits++, dispose: () => void disposes++ }),
    map((e: Either<unknown, number>) => e),
    retry({ retries: 2, backoff: 'none' }),
  )
  const out = await withTimeout(drain(flow), 5_000)
  assert.is(out.length, 20, 'every item left the retry once')
  const failed = out.filter(isL)
  assert.equal(failed.map((e) => e.left.item).sort((a, b) => a - b), [0, 5, 10, 15])
  for (const e of failed) assert.is(e.left.attempts, 3)
  for (const n of [0, 5, 10, 15]) assert.is(calls.get(n), 3)
  assert.ok(inits <= 3, `ran init ${inits} times for a stage of 3 workers`)
  assert.is(disposes, inits)
})

/** A stage handler that fails each item's first attempt, and counts workers (init/dispose) and replays running at once. */
function firstAttemptFails() {
  const seen = { inits: 0, disposes: 0, replaying: 0, replayPeak: 0, calls: 0 }
  const tried = new Set<number>()
  const handler = async (n: number, ctx: StageContext) => {
    seen.calls++
    const replay = ctx.attempt > 1
    if (replay) seen.replayPeak = Math.max(seen.replayPeak, ++seen.replaying)
    await new Promise((resolve) => setImmediate(resolve))
    if (replay) seen.replaying--
    if (!tried.has(n)) {
      tried.add(n)
      throw new Error(`first attempt at ${n} fails`)
    }
    return n
  }
  const options = { concurrency: 2, init: () => void seen.inits++, dispose: () => void seen.disposes++ }
  return { seen, handler, options }
}

test('behind an IxJS take that closes the stage, replays run on at most its concurrency of fresh workers, disposed at the end', async () => {
  const { seen, handler, options } = firstAttemptFails()
  const items = Array.from({ length: 30 }, (_, i) => i)
  const flow = pipe(items, pool(handler, options), take(8), retry({ retries: 1, backoff: 'none' }))
  const out = await withTimeout(drain(flow), 5_000)
  assert.is(out.length, 8, 'every item take let through left the retry once')
  assert.ok(out.every((e) => e._tag === 'Right'), 'every one recovered')
  assert.ok(seen.replayPeak <= 2, `ran ${seen.replayPeak} replays at once with concurrency 2`)
  assert.ok(seen.inits <= 4, `ran init ${seen.inits} times: the stage's 2 workers, then at most 2 for replays`)
  assert.is(seen.disposes, seen.inits, 'every worker that ran init was disposed once, before the loop ended')
})

test('a replay still queued or running on a stage that an IxJS take then closes is run again elsewhere, not lost', async () => {
  let inits = 0
  let disposes = 0
  const attempts = new Map<number, number>()
  const handler = async (n: number) => {
    const attempt = (attempts.get(n) ?? 0) + 1
    attempts.set(n, attempt)
    if (n === 0 && attempt === 1) throw new Error('item 0 fails once')
    // Item 1 holds the one worker while item 0's replay waits for it; the replay then runs when take closes the stage.
    await new Promise((resolve) => setTimeout(resolve, 20))
    return n
  }
  const flow = pipe([0, 1, 2, 3], pool(handler, { concurrency: 1, init: () => void inits++, dispose: () => void disposes++ }), take(2), retry({ retries: 2, backoff: 'none' }))
  const out = await withTimeout(drain(flow), 2_000, 'the loop')
  assert.equal(out.map((e) => (e as { right: number }).right).sort(), [0, 1], 'item 0 recovered, item 1 came through')
  assert.is(disposes, inits)
})

test('behind a generator that hides the retry from the stage, replays still stay within its concurrency', async () => {
  const { seen, handler, options } = firstAttemptFails()
  async function* relay<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
    // `for await` opens the source without the signal: the stage upstream is a run of its own.
    for await (const item of source) yield item
  }
  const items = Array.from({ length: 30 }, (_, i) => i)
  const flow = pipe(relay(pipe(items, pool(handler, options))), retry({ retries: 1, backoff: 'none', concurrency: Infinity }))
  const out = await withTimeout(drain(flow), 5_000)
  assert.is(out.length, 30)
  assert.equal(out.map((e) => (e as { right: number }).right).sort((a, b) => a - b), items, 'every item recovered exactly once')
  assert.ok(seen.replayPeak <= 2, `ran ${seen.replayPeak} replays at once with concurrency 2`)
  assert.ok(seen.inits <= 4, `ran init ${seen.inits} times: the stage's 2 workers, then at most 2 for replays`)
  assert.is(seen.disposes, seen.inits)
})

test('a retry after a stage whose every init failed gives each item its Left with every attempt, and ends', async () => {
  const boom = new Error('no database')
  const flow = pipe([1, 2, 3, 4, 5], pool((n: number) => n, { concurrency: 2, init: () => Promise.reject(boom) }), retry({ retries: 2, backoff: 'none' }))
  const result = await withTimeout(collect(flow), 2_000, 'the run')
  assert.ok(isRight(result))
  assert.is(result.right.values.length, 0)
  assert.is(result.right.errors.length, 5, 'every item accounted for once')
  for (const error of result.right.errors) {
    assert.is(error.cause, boom)
    assert.is(error.attempts, 3)
  }
})

test('a retry of an item whose mix handler lost its worker to a failed init fails it with that error, and ends', async () => {
  const boom = new Error('handler b has no connection')
  const init = (ctx: StageContext) => {
    if (ctx.worker === 1) throw boom
  }
  const slow = (n: number) => new Promise<number>((resolve) => setTimeout(() => resolve(n), 5))
  const flow = pipe([1, 2, 3, 4], mix([slow, slow], { init }), retry({ retries: 1, backoff: 'none' }))
  const out = await withTimeout(drain(flow), 2_000, 'the run')
  assert.is(out.length, 4, 'every item accounted for once')
  const failed = out.filter(isL)
  assert.ok(failed.length >= 1, 'handler b took an item')
  for (const e of failed) {
    assert.is(e.left.cause, boom)
    assert.is(e.left.attempts, 2)
  }
})

test.run()
