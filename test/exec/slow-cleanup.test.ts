import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { once } from 'node:events'
import { pipe, pool, run, toReadable, toReadableStream, type Logger } from '../../src/index.js'
import { cleanupBounds, CLEANUP_GRACE_MS, STOP_CLEANUP_WAIT_MS } from '../../src/exec/cleanup.js'
import { assertNoLeaks, deferred, sleep, withTimeout, abortableSleep, baseline, leftOf, right } from '../_helpers.js'

/** A logger that resolves `warned` on the first warning matching `pattern`. */
function watchingLogger(pattern: RegExp): { log: Logger; warned: Promise<string>; warnings: string[] } {
  const warned = deferred<string>()
  const warnings: string[] = []
  const noop = (): void => {}
  const log: Logger = {
    debug: noop,
    info: noop,
    error: noop,
    warn: (message: string) => {
      warnings.push(message)
      if (pattern.test(message)) warned.resolve(message)
    },
  }
  return { log, warned: warned.promise, warnings }
}

/** Runs `body` with the cleanup grace shortened to `ms` (the real one is seconds). */
async function withGrace(ms: number, body: () => Promise<void>): Promise<void> {
  const saved = cleanupBounds.graceMs
  cleanupBounds.graceMs = ms
  try {
    await body()
  } finally {
    cleanupBounds.graceMs = saved
  }
}

/** An endless source whose `return()` is `onReturn()`; counts calls. */
function sourceReturning(onReturn: () => Promise<IteratorResult<number>>) {
  let i = 0
  const calls = { returns: 0 }
  const source: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => ({ value: i++, done: false }),
      return: () => {
        calls.returns++
        return onReturn()
      },
    }),
  }
  return { source, calls }
}

/** A stage whose handlers wait on their signal; `started` resolves once every worker has an item. */
function stuckStage(options: { concurrency?: number; dispose?: () => unknown } = {}) {
  const started = deferred()
  let starts = 0
  const stage = pool(
    async (n: number, { signal }) => {
      if (++starts === (options.concurrency ?? 1)) started.resolve()
      await abortableSleep(10_000, signal)
      return n
    },
    { name: 'stuck', ...options },
  )
  return { stage, started: started.promise }
}

/** Aborts `ac` and returns how long `pending` then took to settle, with its result. */
async function abortAndTime<T>(ac: AbortController, pending: Promise<T>): Promise<{ elapsed: number; result: T }> {
  const t0 = performance.now()
  ac.abort()
  const result = await withTimeout(pending, 2000, 'the cancelled run')
  return { elapsed: performance.now() - t0, result }
}

test('the bounds are named: a stop waits briefly for cleanup, well inside the 100 ms latency; the grace is seconds', () => {
  assert.ok(STOP_CLEANUP_WAIT_MS > 0 && STOP_CLEANUP_WAIT_MS <= 50)
  assert.ok(CLEANUP_GRACE_MS >= 1000 && CLEANUP_GRACE_MS <= 10_000)
  assert.is(cleanupBounds.graceMs, CLEANUP_GRACE_MS)
})

test('a source whose return() takes 1 s: cancel resolves within 100 ms, and return() finishes in the background', async () => {
  const before = await baseline()
  const returned = deferred()
  const { source, calls } = sourceReturning(
    () =>
      new Promise((resolve) =>
        setTimeout(() => {
          returned.resolve()
          resolve({ done: true, value: undefined })
        }, 1000),
      ),
  )
  const { stage, started } = stuckStage()
  const ac = new AbortController()
  const pending = run(pipe(source, stage), { signal: ac.signal })
  await withTimeout(started, 2000, 'first handler')
  const { elapsed, result } = await abortAndTime(ac, pending)
  assert.ok(elapsed < 100, `resolved ${elapsed.toFixed(1)} ms after the abort`)
  assert.is(leftOf(result).kind, 'cancelled')
  assert.is(calls.returns, 1, 'the source was closed')
  let finished = false
  void returned.promise.then(() => (finished = true))
  await Promise.resolve()
  assert.not.ok(finished, 'the slow return() is still running when the run resolves')
  await withTimeout(returned.promise, 2000, 'the slow return()')
  await assertNoLeaks(before, 'slow source return')
})

test('a source whose return() never settles: cancel resolves within 100 ms; nothing is held; a warning after the grace', async () => {
  await withGrace(150, async () => {
    const before = await baseline()
    const { source, calls } = sourceReturning(() => new Promise(() => {}))
    const { log, warned } = watchingLogger(/\[source\] return\(\).*still running after 150 ms/)
    const { stage, started } = stuckStage()
    const ac = new AbortController()
    const pending = run(pipe(source, stage), { signal: ac.signal, log })
    await withTimeout(started, 2000, 'first handler')
    const { elapsed, result } = await abortAndTime(ac, pending)
    assert.ok(elapsed < 100, `resolved ${elapsed.toFixed(1)} ms after the abort`)
    assert.is(leftOf(result).kind, 'cancelled')
    assert.is(calls.returns, 1)
    // The stuck return() keeps nothing alive: no timer or handle of pipevine's is left.
    await assertNoLeaks(before, 'never-settling source return')
    await withTimeout(warned, 2000, 'the grace warning')
  })
})

test("an async generator source whose finally is slow: cancel resolves within 100 ms; the finally completes in the background", async () => {
  const before = await baseline()
  const inFinally = deferred()
  const release = deferred()
  const finallyDone = deferred()
  let done = false
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i++) yield i
    } finally {
      inFinally.resolve()
      await release.promise
      done = true
      finallyDone.resolve()
    }
  }
  const { stage, started } = stuckStage()
  const ac = new AbortController()
  const pending = run(pipe(source(), stage), { signal: ac.signal })
  await withTimeout(started, 2000, 'first handler')
  const { elapsed, result } = await abortAndTime(ac, pending)
  assert.ok(elapsed < 100, `resolved ${elapsed.toFixed(1)} ms after the abort`)
  assert.is(leftOf(result).kind, 'cancelled')
  await withTimeout(inFinally.promise, 1000, 'the finally starts')
  assert.not.ok(done, 'the run did not wait for the slow finally')
  release.resolve()
  await withTimeout(finallyDone.promise, 1000, 'the finally runs to its end after the run')
  await assertNoLeaks(before, 'slow finally')
})

test('a dispose that never settles: cancel resolves within 100 ms, each started worker was disposed once, a warning after the grace', async () => {
  await withGrace(150, async () => {
    const before = await baseline()
    let disposes = 0
    const { log, warned } = watchingLogger(/\[stuck\] dispose of worker \d+ still running after 150 ms/)
    const { stage, started } = stuckStage({ concurrency: 2, dispose: () => (disposes++, new Promise(() => {})) })
    const ac = new AbortController()
    const pending = run(pipe([1, 2, 3], stage), { signal: ac.signal, log })
    await withTimeout(started, 2000, 'both handlers')
    const { elapsed, result } = await abortAndTime(ac, pending)
    assert.ok(elapsed < 100, `resolved ${elapsed.toFixed(1)} ms after the abort`)
    assert.is(leftOf(result).kind, 'cancelled')
    assert.is(disposes, 2)
    await assertNoLeaks(before, 'never-settling dispose')
    await withTimeout(warned, 2000, 'the grace warning')
  })
})

test('a dispose that never settles on a run that completes: the run resolves once the grace is over, with a warning', async () => {
  await withGrace(150, async () => {
    const { log, warnings } = watchingLogger(/dispose/)
    const t0 = performance.now()
    const result = await withTimeout(
      run(pipe([1, 2, 3], pool((n: number) => n, { name: 'hung', dispose: () => new Promise(() => {}) })), { log }),
      2000,
      'the completed run',
    )
    const elapsed = performance.now() - t0
    assert.is(right(result).processed, 3)
    assert.ok(elapsed >= 140 && elapsed < 1000, `resolved after ${elapsed.toFixed(1)} ms`)
    assert.equal(
      warnings.filter((w) => /\[hung\] dispose of worker 0 still running after 150 ms/.test(w)).length,
      1,
      `one warning: ${JSON.stringify(warnings)}`,
    )
  })
})

test('a consumer that breaks out of a pipeline whose dispose never settles gets control back within 100 ms', async () => {
  const before = await baseline()
  const flowed = pipe([1, 2, 3, 4], pool((n: number) => n, { dispose: () => new Promise(() => {}) }))
  let t0 = 0
  const consume = async (): Promise<void> => {
    for await (const item of flowed) {
      assert.ok(item)
      t0 = performance.now()
      break
    }
  }
  await withTimeout(consume(), 2000, 'the loop with a break')
  const elapsed = performance.now() - t0
  assert.ok(elapsed < 100, `break returned after ${elapsed.toFixed(1)} ms`)
  await assertNoLeaks(before, 'break with a stuck dispose')
})

test('destroying a toReadable, or cancelling a toReadableStream, over a dispose that never settles completes within 100 ms', async () => {
  const before = await baseline()
  function* naturals(): Generator<number> {
    for (let i = 1; ; i++) yield i
  }
  const stuck = () => pipe(naturals(), pool((n: number) => n, { dispose: () => new Promise(() => {}) }))
  const readable = toReadable(stuck())
  await withTimeout(once(readable, 'readable'), 2000, 'the first item')
  const t0 = performance.now()
  readable.destroy()
  await withTimeout(once(readable, 'close'), 2000, "the stream's close")
  const destroyed = performance.now() - t0
  assert.ok(destroyed < 100, `closed ${destroyed.toFixed(1)} ms after destroy()`)

  const reader = toReadableStream(stuck()).getReader()
  assert.is((await reader.read()).value, 1)
  const t1 = performance.now()
  await withTimeout(reader.cancel(), 2000, 'the cancel')
  const cancelled = performance.now() - t1
  assert.ok(cancelled < 100, `cancel() resolved after ${cancelled.toFixed(1)} ms`)
  await assertNoLeaks(before, 'stream adapters over a stuck dispose')
})

test("a run that fails fast while the source's next() is pending resolves after the source's finally has run", async () => {
  let finallyRan = false
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i++) {
        await sleep(2)
        yield i
      }
    } finally {
      finallyRan = true
    }
  }
  const result = await withTimeout(
    run(
      pipe(
        source(),
        pool((n: number) => {
          if (n === 3) throw new Error('three')
          return n
        }),
      ),
      { failFast: true },
    ),
    2000,
    'the failFast run',
  )
  assert.is(leftOf(result).kind, 'failed')
  assert.ok(finallyRan, "the source's finally ran before the run resolved")
})

test("cancel while the source's next() never settles: the run resolves within 100 ms, through a stage or straight over the source", async () => {
  const before = await baseline()
  for (const straight of [false, true]) {
    const waiting = deferred()
    const source = {
      [Symbol.asyncIterator]: () => ({
        next: () => (waiting.resolve(), new Promise<IteratorResult<number>>(() => {})),
        return: async () => ({ done: true as const, value: undefined }),
      }),
    }
    async function* generator(): AsyncGenerator<number> {
      yield* source as AsyncIterable<number>
    }
    const ac = new AbortController()
    const flowed: AsyncIterable<unknown> = straight ? generator() : pipe(generator(), pool((n: number) => n))
    const pending = run(flowed, { signal: ac.signal })
    await withTimeout(waiting.promise, 2000, 'the pending next()')
    const { elapsed, result } = await abortAndTime(ac, pending)
    assert.ok(elapsed < 100, `${straight ? 'straight' : 'staged'}: resolved ${elapsed.toFixed(1)} ms after the abort`)
    assert.is(leftOf(result).kind, 'cancelled')
  }
  await assertNoLeaks(before, 'pending next')
})

test.run()
