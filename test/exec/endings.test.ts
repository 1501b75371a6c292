import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { batch, buffer, collect, deadLetter, kill, pipe, pool, retry, run, unbatch, values, PipelineError, StageError } from '../../src/index.js'
import { assertNoLeaks, counting, deferred, withTimeout, abortableSleep, baseline, leftOf, range, right, slowInit, stage } from '../_helpers.js'

test('a source that throws midway: Left source with the cause; items in flight are finished and counted', async () => {
  const before = await baseline()
  const boom = new Error('disk on fire')
  function* source(): Generator<number> {
    for (let i = 0; i < 10; i++) yield i
    throw boom
  }
  let finished = 0
  const result = await run(
    pipe(
      source(),
      pool(
        async (n: number) => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          finished++
          return n
        },
        { concurrency: 4, buffer: 2, name: 'work' },
      ),
    ),
  )
  const error = leftOf(result)
  assert.is(error.kind, 'source')
  assert.is(error.cause, boom)
  const s = stage(error.report!, 'work')
  assert.is(s.processed + s.failed + s.cancelled, 10, 'every pulled item is accounted for')
  assert.is(s.processed, finished)
  assert.is(s.processed, 10, 'in-flight items were finished, not dropped')
  assert.is(error.report!.processed, 10, 'and they reached the consumer before the error')
  await assertNoLeaks(before, 'source error')
})

test('a source that rejects midway (async generator), through several stages and collect', async () => {
  const before = await baseline()
  const boom = new TypeError('socket hang up')
  async function* source(): AsyncGenerator<number> {
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setImmediate(resolve))
      yield i
    }
    throw boom
  }
  const result = await collect(pipe(source(), pool(async (n: number) => n, 3), buffer(3), pool((n: number) => n, { name: 'b' })))
  const error = leftOf(result)
  assert.is(error.kind, 'source')
  assert.is(error.cause, boom)
  assert.is(error.report!.processed, 20)
  assert.is(stage(error.report!, 'b').processed, 20)
  await assertNoLeaks(before)
})

test('a source that throws on the first pull, and a for await consumer over a failing source', async () => {
  const boom = new Error('no data')
  const bad = {
    [Symbol.iterator]: () => ({
      next: (): IteratorResult<number> => {
        throw boom
      },
    }),
  }
  const error = leftOf(await run(pipe(bad, pool((n: number) => n))))
  assert.is(error.kind, 'source')
  assert.is(error.cause, boom)

  async function* source(): AsyncGenerator<number> {
    yield 1
    throw boom
  }
  const seen: unknown[] = []
  let thrown: unknown
  try {
    for await (const r of pipe(source(), pool((n: number) => n))) seen.push(r)
  } catch (e) {
    thrown = e
  }
  assert.is(seen.length, 1)
  assert.instance(thrown, PipelineError)
  assert.is((thrown as PipelineError).kind, 'source')
  assert.is((thrown as PipelineError).cause, boom)
  assert.is((thrown as PipelineError).report?.stages[0]?.processed, 1, 'with the report of what ran before the failure')
})

test('failFast: the first Left ends the run with kind failed, the StageError as cause; nothing left running', async () => {
  const before = await baseline()
  const src = counting()
  let calls = 0
  const result = await withTimeout(
    run(
      pipe(
        src.source,
        pool(
          async (n: number, { signal }) => {
            calls++
            await abortableSleep(2, signal)
            if (n === 5) throw new Error('bad five')
            return n
          },
          { concurrency: 3, name: 'check' },
        ),
      ),
      { failFast: true },
    ),
    2000,
  )
  const error = leftOf(result)
  assert.is(error.kind, 'failed')
  assert.instance(error.cause, StageError)
  assert.is((error.cause as StageError).item, 5)
  assert.match(error.message, /bad five/)
  assert.is(error.report!.failed, 1)
  await withTimeout(src.closed, 1000)
  assert.ok(src.pulled() < 5 + 1 + 3 + 1 + 1, `pulled ${src.pulled()}`)
  assert.ok(calls <= 10)
  await assertNoLeaks(before, 'failFast')

  // With collect too, and without failFast the same pipeline completes.
  const c = leftOf(await collect(pipe(range(10), pool((n: number) => (n === 3 ? Promise.reject(new Error('x')) : n))), { failFast: true }))
  assert.is(c.kind, 'failed')
  const ok = right(await run(pipe(range(10), pool((n: number) => (n === 3 ? Promise.reject(new Error('x')) : n)))))
  assert.is(ok.failed, 1)
  assert.is(ok.processed, 9)
})

test('failFast also ends the run at a Left that values() drops on the way (not at one a deadLetter sink takes)', async () => {
  const before = await baseline()
  const failThree = (n: number) => (n === 3 ? Promise.reject(new Error('three')) : n)
  const src = counting()
  const dropped = leftOf(await withTimeout(run(pipe(src.source, pool(failThree, { name: 'three' }), values()), { failFast: true }), 2000))
  assert.is(dropped.kind, 'failed')
  assert.instance(dropped.cause, StageError)
  assert.is((dropped.cause as StageError).item, 3)
  assert.is(dropped.report!.failed, 1)
  await withTimeout(src.closed, 1000)
  // Fused into the pool and as a stage of its own (after a buffer), the same.
  const ownStage = leftOf(await run(pipe(range(20), pool(failThree), buffer(2), values()), { failFast: true }))
  assert.is(ownStage.kind, 'failed')
  // A deadLetter sink handles its Lefts: the run completes, the failure counted.
  const sunk: StageError[] = []
  const handled = right(await run(pipe(range(10), pool(failThree), deadLetter((e) => void sunk.push(e))), { failFast: true }))
  assert.is(handled.failed, 1)
  assert.is(handled.processed, 9)
  assert.is(sunk.length, 1)
  await assertNoLeaks(before, 'failFast through values()')
})

/** A pipeline with every kind of timer and handle a stage can own, and counters to check that all were released. */
function rich(mode: 'complete' | 'kill' | 'failFast' | 'cancel' | 'timeout' | 'source' | 'break') {
  const inits = { n: 0 }
  const disposes = { n: 0 }
  const closed = deferred()
  const tenth = deferred()
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < (mode === 'complete' ? 60 : 10_000); i++) {
        if (i === 10) tenth.resolve()
        if (mode === 'source' && i === 25) throw new Error('source broke')
        await new Promise((resolve) => setImmediate(resolve))
        yield i
      }
    } finally {
      closed.resolve()
    }
  }
  const life = {
    init: () => {
      inits.n++
      return { conn: 'open' }
    },
    dispose: () => {
      disposes.n++
    },
  }
  const flowed = pipe(
    source(),
    pool(
      async (n: number, { signal, attempt }) => {
        await abortableSleep(1, signal)
        if (n % 7 === 3 && attempt === 1) throw new Error('flaky')
        if (mode === 'kill' && n === 20) return kill('enough')
        if (mode === 'failFast' && n === 11) throw new Error('fatal')
        return n
      },
      { concurrency: 3, timeout: 5_000, name: 'a', ...life },
    ),
    retry({ retries: 1, backoff: 'linear', baseMs: 2 }),
    buffer(4),
    batch(3, { maxWaitMs: 50 }),
    unbatch(),
    pool(async (n: number, { signal }) => {
      await abortableSleep(1, signal)
      return n
    }, { concurrency: 2, name: 'b', ...life }),
  )
  return { flowed, inits, disposes, closed: closed.promise, tenth: tenth.promise }
}

for (const mode of ['complete', 'kill', 'failFast', 'cancel', 'timeout', 'source', 'break'] as const) {
  test(`no leaks after ending by ${mode}: active resources back to baseline, every worker disposed, the source closed`, async () => {
    const before = await baseline()
    const r = rich(mode)
    const ac = new AbortController()
    let signal: AbortSignal | undefined
    if (mode === 'cancel') {
      signal = ac.signal
      void r.tenth.then(() => ac.abort())
    }
    if (mode === 'timeout') signal = AbortSignal.timeout(40)
    if (mode === 'break') {
      let n = 0
      for await (const _ of r.flowed) if (++n === 15) break
    } else {
      const result = await withTimeout(run(r.flowed, { signal, failFast: mode === 'failFast', onProgress: () => {}, progressMs: 5 }), 3000)
      const expected = { complete: null, kill: 'killed', failFast: 'failed', cancel: 'cancelled', timeout: 'timeout', source: 'source' }[mode]
      if (expected === null) assert.is(right(result).processed, 60)
      else assert.is(leftOf(result).kind, expected)
    }
    await withTimeout(r.closed, 1000, 'source finally')
    await assertNoLeaks(before, `ending by ${mode}`)
    assert.ok(r.inits.n > 0)
    assert.is(r.disposes.n, r.inits.n, 'dispose ran once per initialised worker')
  })
}

test('cancel while an async init is still running: the run resolves at once, and that worker is disposed when its init finishes', async () => {
  const before = await baseline()
  const ac = new AbortController()
  const slow = slowInit()
  const t0 = performance.now()
  const pending = run(
    pipe(
      [1, 2, 3],
      pool((n: number) => n, slow.options),
    ),
    { signal: ac.signal },
  )
  await slow.started
  ac.abort()
  assert.is(leftOf(await pending).kind, 'cancelled')
  assert.ok(performance.now() - t0 < 40, 'did not wait for init')
  await assertNoLeaks(before, 'resources opened by a late init')
  assert.is(slow.counts.inits, 2)
  assert.is(slow.counts.disposes, 2)
})

test('run and collect never reject and leave no unhandled rejection, whatever the ending', async () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  try {
    const boom = new Error('boom')
    const endings: Promise<unknown>[] = []
    // Handler rejections, late rejections after a cancel, kill, source errors, failFast, throwing onProgress, an already-aborted signal.
    endings.push(run(pipe(range(20), pool(async () => Promise.reject(boom), 3))))
    const ac = new AbortController()
    const started = deferred()
    endings.push(
      collect(
        pipe(
          range(20),
          pool(async () => {
            started.resolve()
            await new Promise((resolve) => setTimeout(resolve, 30))
            throw boom // late, after the cancel
          }, 3),
        ),
        { signal: ac.signal },
      ),
    )
    await started.promise
    ac.abort()
    endings.push(run(pipe(range(20), pool((n: number) => (n === 4 ? kill('k') : n), 2))))
    endings.push(
      run(
        pipe(
          (async function* () {
            yield 1
            throw boom
          })(),
          pool((n: number) => n),
        ),
      ),
    )
    endings.push(collect(pipe(range(20), pool(async (n: number) => (n === 2 ? Promise.reject(boom) : n), 2)), { failFast: true }))
    endings.push(
      run(pipe(range(5), pool(async (n: number) => n)), {
        progressMs: 1,
        onProgress: () => {
          throw boom
        },
      }),
    )
    const aborted = new AbortController()
    aborted.abort(boom)
    endings.push(run(pipe(range(5), pool(async () => Promise.reject(boom))), { signal: aborted.signal }))
    endings.push(run(pipe(range(5), pool(async () => Promise.reject(boom), { timeout: 1, retries: 1 })), { signal: AbortSignal.timeout(1) }))
    // A retry backoff function that throws on the second retry (sync and async handlers).
    const badBackoff = (a: number): number => {
      if (a > 1) throw new Error('backoff bug')
      return 1
    }
    const backoffRuns = [
      run(pipe([1, 2], pool(async () => Promise.reject(boom)), retry({ retries: 3, backoff: badBackoff }))),
      run(pipe([1, 2], pool(() => { throw boom }), retry({ retries: 3, backoff: badBackoff }))),
    ]
    endings.push(...backoffRuns)
    const settled = await withTimeout(Promise.allSettled(endings), 3000)
    for (const b of await Promise.all(backoffRuns)) assert.is(right(b).failed, 2, 'a throwing backoff means no further retry')
    for (const s of settled) assert.is(s.status, 'fulfilled', `a run rejected: ${String((s as PromiseRejectedResult).reason)}`)
    // Give late rejections time to surface.
    await new Promise((resolve) => setTimeout(resolve, 60))
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(unhandled, [], 'unhandled rejections')
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})

test('run with a non-iterable or bad options throws a TypeError synchronously instead of rejecting', () => {
  assert.throws(() => run(42 as never), (e: unknown) => e instanceof TypeError && /flow/.test((e as Error).message))
  assert.throws(() => collect([1], { failFast: 'yes' } as never), (e: unknown) => e instanceof TypeError && /failFast/.test((e as Error).message))
  assert.throws(() => run([1], { signal: {} as never }), (e: unknown) => e instanceof TypeError && /signal/.test((e as Error).message))
})

test.run()
