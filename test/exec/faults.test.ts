// Fault injection (issue 6 point 2): what the user sees for each fault, and that nothing else is lost or left running.
// Covered elsewhere, not repeated here: a source that throws midway (endings.test.ts), a thread that crashes on every
// item and a thread module that fails to load (thread.test.ts), an onProgress callback that throws (report.test.ts:
// Left internal with its cause, no leaks), a merge function that throws in fork (fork.test.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, isRight, pipe, pool, run, StageError, TimeoutError, type Logger } from '../../src/index.js'
import { assertNoLeaks, counting, deferred, sleep, withTimeout, baseline, leftOf, range, right, stage } from '../_helpers.js'

function recordingLogger(): Logger & { errors: string[]; warns: string[] } {
  const errors: string[] = []
  const warns: string[] = []
  return {
    errors,
    warns,
    debug() {},
    info() {},
    warn: (message: string) => void warns.push(message),
    error: (message: string) => void errors.push(message),
  }
}

test('a consumer whose for await body throws: its error reaches the caller, the source finally runs, in-flight handlers see abort, every started worker is disposed once', async () => {
  const before = await baseline()
  const src = counting()
  let inits = 0
  let disposes = 0
  let started = 0
  let aborted = 0
  const secondStarted = deferred()
  const boom = new Error('consumer bug')
  const handler = async (n: number, { signal }: { signal: AbortSignal }) => {
    if (n === 0) {
      await secondStarted.promise // item 1 is in flight when the consumer sees item 0
      return n
    }
    if (++started === 1) secondStarted.resolve()
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
    aborted++
    return n
  }
  let caught: unknown
  try {
    for await (const r of pipe(src.source, pool(handler, { concurrency: 3, init: () => void inits++, dispose: () => void disposes++ }))) {
      assert.ok(isRight(r))
      throw boom
    }
  } catch (error) {
    caught = error
  }
  assert.is(caught, boom, 'the loop body error is what the caller gets, unwrapped')
  await withTimeout(src.closed, 1_000, 'source finally')
  assert.ok(started >= 1)
  await withTimeout(
    (async () => {
      while (aborted < started) await new Promise((resolve) => setImmediate(resolve))
    })(),
    1_000,
    'in-flight handlers see their signal abort',
  )
  assert.is(aborted, started, 'every in-flight handler was aborted')
  assert.ok(inits >= 2, `workers started (${inits})`)
  assert.is(disposes, inits, 'dispose ran once per started worker')
  const pulled = src.pulled()
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.is(src.pulled(), pulled, 'nothing is pulled after the stop')
  await assertNoLeaks(before, 'consumer throw')
})

test('a dispose that throws (or rejects): the run still resolves Right with every item, the error is logged at error level, the other workers are disposed', async () => {
  const before = await baseline()
  const log = recordingLogger()
  const seen = new Set<number>()
  const allWorkers = deferred()
  const disposed: number[] = []
  let inits = 0
  const result = await withTimeout(
    collect(
      pipe(
        range(30),
        pool(
          async (n: number, ctx: { worker: number }) => {
            seen.add(ctx.worker)
            if (seen.size === 3) allWorkers.resolve()
            await allWorkers.promise // every worker takes an item
            return n * 2
          },
          {
            concurrency: 3,
            name: 'leaky',
            init: () => void inits++,
            dispose: async (_state, ctx) => {
              if (ctx.worker === 0) throw new Error('close failed sync')
              if (ctx.worker === 1) {
                await sleep(1)
                throw new Error('close failed async')
              }
              disposed.push(ctx.worker)
            },
          },
        ),
      ),
      { log },
    ),
    2_000,
  )
  const got = right(result)
  assert.equal(got.values.sort((a, b) => a - b), range(30).map((n) => n * 2), 'every item arrived')
  assert.is(got.errors.length, 0)
  assert.is(got.report.processed, 30)
  assert.is(got.report.failed, 0)
  assert.is(stage(got.report, 'leaky').processed, 30)
  assert.is(inits, 3)
  assert.equal(disposed, [2], 'the worker whose dispose works is still disposed')
  // the async rejection is logged when it settles
  await withTimeout(
    (async () => {
      while (log.errors.length < 2) await new Promise((resolve) => setImmediate(resolve))
    })(),
    1_000,
    'dispose errors logged',
  )
  assert.is(log.errors.length, 2, log.errors.join('\n'))
  assert.ok(log.errors.some((m) => /leaky/.test(m) && /dispose/.test(m) && /close failed sync/.test(m)), log.errors.join('\n'))
  assert.ok(log.errors.some((m) => /leaky/.test(m) && /dispose/.test(m) && /close failed async/.test(m)), log.errors.join('\n'))
  await assertNoLeaks(before, 'throwing dispose')
})

test('an init that throws for one worker only: that worker\'s item is a Left with the init error, the others process the rest, totals add up', async () => {
  const before = await baseline()
  const log = recordingLogger()
  const boom = new Error('worker 1 cannot connect')
  let inits = 0
  let disposes = 0
  const handledBy = new Set<number>()
  const N = 40
  const result = await withTimeout(
    collect(
      pipe(
        range(N),
        pool(
          async (n: number, ctx: { worker: number }) => {
            handledBy.add(ctx.worker)
            await sleep(0)
            return n
          },
          {
            concurrency: 3,
            name: 'connect',
            init: (ctx) => {
              inits++
              if (ctx.worker === 1) throw boom
            },
            dispose: () => void disposes++,
          },
        ),
      ),
      { log },
    ),
    3_000,
  )
  const got = right(result)
  assert.ok(got.errors.length >= 1, 'the failed worker\'s item is a Left')
  for (const e of got.errors) {
    assert.instance(e, StageError)
    assert.is(e.cause, boom)
  }
  assert.is(got.errors.length, 1, 'only the item the failed worker took is lost; the rest go to the others')
  assert.is(got.values.length + got.errors.length, N, 'every input accounted for')
  assert.is(new Set(got.values).size, got.values.length, 'nothing duplicated')
  const s = stage(got.report, 'connect')
  assert.is(s.processed, N - 1)
  assert.is(s.failed, 1)
  assert.is(got.report.processed + got.report.failed, N)
  assert.ok(!handledBy.has(1), 'the broken worker ran no handler')
  assert.ok(handledBy.has(0) && handledBy.has(2))
  assert.is(inits, 3)
  assert.is(disposes, 2, 'the healthy workers are disposed; the broken one has nothing to dispose')
  assert.ok(log.errors.some((m) => /connect/.test(m) && /init failed/.test(m) && /worker 1 cannot connect/.test(m)), log.errors.join('\n'))
  await assertNoLeaks(before, 'init failure')
})

test('a handler that never settles, without timeout: cancel resolves promptly with kind cancelled and the stuck items counted as cancelled', async () => {
  const before = await baseline()
  const ac = new AbortController()
  const stuck = deferred()
  let started = 0
  let inits = 0
  let disposes = 0
  const pending = run(
    pipe(
      range(10),
      pool(
        (n: number) => {
          if (n < 3) return n
          if (++started === 2) stuck.resolve()
          return new Promise<number>(() => {}) // never settles, ignores its signal
        },
        { concurrency: 2, name: 'stuck', init: () => void inits++, dispose: () => void disposes++ },
      ),
      pool((n: number) => n, { name: 'after' }),
    ),
    { signal: ac.signal },
  )
  await withTimeout(stuck.promise, 2_000, 'stuck handlers start')
  const t0 = performance.now()
  ac.abort()
  const result = await withTimeout(pending, 2_000, 'cancelled run')
  const elapsed = performance.now() - t0
  assert.ok(elapsed < 100, `resolved ${elapsed.toFixed(1)} ms after the abort`)
  const error = leftOf(result)
  assert.is(error.kind, 'cancelled')
  const s = stage(error.report!, 'stuck')
  // cancelled counts items queued or in flight at the stop: at least the two stuck ones
  assert.ok(s.cancelled >= 2, `both stuck items counted as cancelled (${s.cancelled})`)
  assert.ok(s.processed + s.failed + s.cancelled <= 10, 'nothing counted twice')
  assert.is(s.inFlight, 0)
  assert.is(s.processed, 3)
  assert.is(stage(error.report!, 'after').processed, 3)
  assert.is(error.report!.processed, 3)
  assert.is(disposes, inits, 'every worker disposed although its handler never settled')
  await assertNoLeaks(before, 'never-settling handler')
})

test('a handler that never settles, with timeout: that item fails with a TimeoutError, the run completes Right', async () => {
  const before = await baseline()
  let inits = 0
  let disposes = 0
  const result = await withTimeout(
    collect(
      pipe(
        range(6),
        pool(
          (n: number) => (n === 2 ? new Promise<number>(() => {}) : n),
          { concurrency: 2, timeout: 20, name: 'stuck', init: () => void inits++, dispose: () => void disposes++ },
        ),
      ),
    ),
    2_000,
  )
  const got = right(result)
  assert.equal(got.values.sort((a, b) => a - b), [0, 1, 3, 4, 5])
  assert.is(got.errors.length, 1)
  assert.instance(got.errors[0]!.cause, TimeoutError)
  const s = stage(got.report, 'stuck')
  assert.is(s.processed, 5)
  assert.is(s.failed, 1)
  assert.is(s.inFlight, 0)
  assert.is(got.report.failed, 1)
  assert.is(disposes, inits)
  await assertNoLeaks(before, 'timed-out never-settling handler')
})

test.run()
