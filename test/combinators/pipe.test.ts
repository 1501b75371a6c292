import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import { take } from 'ix/asynciterable/operators/take'
import { batch, buffer, flow, from, pipe, pool, retry, right, unbatch, values, type StageContext } from '../../src/index.js'
import { activeResources, assertNoLeaks, counting, deferred, drain, withTimeout, idle, until } from '../_helpers.js'

test('pipe applies operators left to right; a pipeline is an AsyncIterable and an IxJS AsyncIterableX', async () => {
  const p = pipe([1, 2, 3], pool((n: number) => n + 1, { ordered: true }), values(), pool((n: number) => n * 10, { ordered: true }), values())
  assert.ok(p instanceof AsyncIterableX)
  assert.is(typeof p[Symbol.asyncIterator], 'function')
  assert.equal(await drain(p), [20, 30, 40])
  // iterating again runs the pipeline again
  assert.equal(await drain(p), [20, 30, 40])
  assert.equal(await drain(p.pipe(take(2))), [20, 30])
})

test('flow composes operators into one reusable operator; a pipeline nests as a source', async () => {
  const inc = flow(pool((n: number) => n + 1, { ordered: true }), values<number>())
  const twice = flow(inc, inc)
  assert.equal(await drain(twice([1, 2])), [3, 4])
  const inner = pipe([1, 2, 3], twice)
  const outer = pipe(inner, pool((n: number) => n * 2, { ordered: true }), values())
  assert.equal(await drain(outer), [6, 8, 10])
})

test('break after 5 items: the source finally ran, in-flight handlers saw their signal abort, nothing is left running', async () => {
  const baseline = activeResources()
  const src = counting()
  const blocked: AbortSignal[] = []
  let calls = 0
  let abortsSeen = 0
  const handler = async (n: number, ctx: StageContext) => {
    calls++
    if (n % 4 === 3) {
      // in flight until the pipeline stops
      blocked.push(ctx.signal)
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => (abortsSeen++, resolve()), { once: true }))
      throw ctx.signal.reason
    }
    if (n % 5 === 1 && ctx.attempt === 1) throw new Error('transient') // waits on a long backoff downstream
    return n
  }
  const pipeline = pipe(
    src.source,
    pool(handler, { concurrency: 4, timeout: 10_000 }), // a timer per attempt
    retry({ retries: 1, backoff: 'linear', baseMs: 10_000 }), // items waiting on backoff timers
    batch(3, { maxWaitMs: 10_000 }), // a timer per partial batch
    unbatch(),
    buffer(4),
  )
  const got: unknown[] = []
  for await (const r of pipeline) {
    got.push(r)
    if (got.length === 5) break
  }
  assert.is(got.length, 5)
  assert.ok(blocked.length > 0, 'some handlers were in flight at the break')
  assert.ok(
    blocked.every((s) => s.aborted),
    'every in-flight handler saw signal.aborted when break returned',
  )
  await withTimeout(src.closed, 2_000, "the source's finally")
  await until(() => abortsSeen === blocked.length, 'abort listeners ran')
  const callsAtBreak = calls
  const pulledAtBreak = src.pulled()
  await assertNoLeaks(baseline, 'timers or handles after break')
  await idle(20)
  assert.is(calls, callsAtBreak, 'no handler ran after the break')
  assert.is(src.pulled(), pulledAtBreak, 'nothing pulled after the break')
})

test('return() on a nested pipeline closes the inner source and aborts inner handlers', async () => {
  const baseline = activeResources()
  const src = counting()
  const started = deferred<AbortSignal>()
  const inner = pipe(
    src.source,
    pool(async (n: number, ctx: StageContext) => {
      if (n < 3) return n
      started.resolve(ctx.signal)
      return new Promise<number>(() => {}) // ignores its signal entirely
    }),
    values(),
  )
  const outer = pipe(inner, pool((n: number) => n, 2), values())
  const it = outer[Symbol.asyncIterator]()
  const first = await it.next()
  assert.ok(!first.done)
  const signal = await withTimeout(started.promise, 2_000)
  await withTimeout(it.return!(), 2_000, 'return()')
  assert.ok(signal.aborted)
  await withTimeout(src.closed, 2_000, "the inner source's finally")
  await assertNoLeaks(baseline)
})

test('an IxJS take() stops the pipeline the same way', async () => {
  const src = counting()
  const seenSignals: AbortSignal[] = []
  const out = await drain(
    from(src.source).pipe(
      pool(
        async (n: number, ctx: StageContext) => {
          seenSignals.push(ctx.signal)
          return n
        },
        { concurrency: 3, ordered: true },
      ),
      take(4),
    ),
  )
  assert.equal(out, [right(0), right(1), right(2), right(3)])
  await withTimeout(src.closed, 2_000, "the source's finally")
  assert.ok(seenSignals.every((s) => s.aborted), 'the stage was stopped')
})

test('a source that throws ends the pipeline with the error after the items before it', async () => {
  async function* bad() {
    yield 1
    yield 2
    throw new Error('disk on fire')
  }
  const got: unknown[] = []
  let caught: unknown
  try {
    for await (const v of pipe(bad(), pool((n: number) => n, { ordered: true }), values())) got.push(v)
  } catch (error) {
    caught = error
  }
  assert.equal(got, [1, 2])
  assert.ok(caught instanceof Error)
  assert.match(String((caught as Error).message), /disk on fire/)
})

test.run()
