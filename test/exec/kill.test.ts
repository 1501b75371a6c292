import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buffer, collect, fork, kill, mix, pipe, pool, retry, run, PipelineError, type Operator } from '../../src/index.js'
import { assertNoLeaks, counting, deferred, sleep, withTimeout, abortableSleep, baseline, leftOf, stage } from '../_helpers.js'

type Make = (killer: (n: number) => unknown) => { op: Operator<any, unknown>; held: number }

// Each case: a stage built around `killer`, and how many items it can hold (buffer + workers).
const cases: [string, Make][] = [
  ['pool', (killer) => ({ op: pool(killer, { concurrency: 4, buffer: 2 }) as Operator<any, unknown>, held: 6 })],
  ['mix', (killer) => ({ op: mix([killer, killer, killer], { buffer: 3 }) as Operator<any, unknown>, held: 6 })],
  ['fork', (killer) => ({ op: fork([killer, (n: number) => n], (r) => r, { concurrency: 2, buffer: 1 }) as Operator<any, unknown>, held: 3 })],
  ['pool fork', (killer) => ({ op: pool(killer, { concurrency: 2, fork: (r) => r }) as Operator<any, unknown>, held: 2 })],
]

for (const [name, make] of cases) {
  for (const mode of ['sync', 'async'] as const) {
    test(`kill(reason) from the 10th item (${name}, ${mode} handler): source pulled fewer than 10 + held times; Left killed with the reason`, async () => {
      const before = await baseline()
      const src = counting()
      const reason = { why: 'poison', at: 9 }
      let handled = 0
      const killer =
        mode === 'sync'
          ? (n: number): unknown => (++handled, n === 9 ? kill(reason) : n)
          : async (n: number): Promise<unknown> => {
              handled++
              await new Promise((resolve) => setImmediate(resolve))
              return n === 9 ? kill(reason) : n
            }
      const { op, held } = make(killer)
      // An upstream stage holding 1 + 1 items and a downstream one: all count toward what may be pulled.
      const upstream = pool((n: number) => n, { name: 'first' })
      const result = await withTimeout(run(pipe(src.source, upstream, op, pool((x: unknown) => x, { name: 'last', concurrency: 2 }))), 2000)
      const error = leftOf(result)
      assert.is(error.kind, 'killed')
      assert.is(error.reason, reason)
      assert.ok(error.report, 'the partial report is attached')
      await withTimeout(src.closed, 1000, 'source finally')
      // Sum of buffers and workers: first (1 + 1), the killer stage, last (1 + 2).
      const bound = 10 + 2 + held + 3
      assert.ok(src.pulled() < bound, `pulled ${src.pulled()} items, bound ${bound}`)
      assert.ok(handled >= 10)
      await assertNoLeaks(before, 'killed run')
    })
  }
}

test('kill aborts the signals of in-flight handlers and returns before they settle', async () => {
  const before = await baseline()
  const aborted: unknown[] = []
  const threeRunning = deferred()
  let running = 0
  const reason = 'stop now'
  const t0 = performance.now()
  const result = await withTimeout(
    run(
      pipe(
        counting().source,
        pool(
          async (n: number, { signal }) => {
            if (n < 3) {
              if (++running === 3) threeRunning.resolve()
              try {
                await abortableSleep(10_000, signal)
              } catch (error) {
                aborted.push(signal.reason)
                throw error
              }
            }
            if (n === 3) {
              await threeRunning.promise
              return kill(reason)
            }
            return n
          },
          { concurrency: 4 },
        ),
      ),
    ),
    2000,
  )
  assert.ok(performance.now() - t0 < 1000)
  const error = leftOf(result)
  assert.is(error.kind, 'killed')
  assert.is(error.reason, reason)
  assert.is(aborted.length, 3)
  for (const r of aborted) assert.is((r as PipelineError).kind, 'killed')
  await assertNoLeaks(before)
})

test('kill from a handler that ignores its signal elsewhere in the pipeline still ends the run at once', async () => {
  const before = await baseline()
  const lateDone = deferred()
  const t0 = performance.now()
  const result = await run(
    pipe(
      [1, 2, 3, 4, 5, 6],
      pool(
        async (n: number) => {
          if (n === 1) {
            await sleep(150) // ignores its signal
            lateDone.resolve()
          }
          return n
        },
        { concurrency: 3, name: 'stubborn' },
      ),
      pool((n: number) => (n === 3 ? kill('three') : n), { name: 'killer' }),
    ),
  )
  assert.ok(performance.now() - t0 < 100)
  const error = leftOf(result)
  assert.is(error.kind, 'killed')
  assert.is(error.reason, 'three')
  assert.ok(stage(error.report!, 'stubborn').cancelled >= 1)
  await lateDone.promise
  await assertNoLeaks(before)
})

test('a plain for await consumer gets a thrown PipelineError of kind killed (last stage and an earlier stage)', async () => {
  for (const killAt of ['last', 'first'] as const) {
    const before = await baseline()
    const src = counting()
    const first = pool((n: number) => (killAt === 'first' && n === 9 ? kill('first!') : n), { concurrency: 2 })
    const last = pool(async (n: number, { signal }) => {
      if (killAt === 'last' && n === 9) return kill('last!')
      await abortableSleep(1, signal)
      return n
    }, { concurrency: 3, buffer: 2 })
    const seen: unknown[] = []
    let thrown: unknown
    try {
      for await (const r of pipe(src.source, first, buffer(2), last)) seen.push(r)
    } catch (error) {
      thrown = error
    }
    assert.instance(thrown, PipelineError, `${killAt}: expected a thrown PipelineError`)
    assert.is((thrown as PipelineError).kind, 'killed')
    assert.is((thrown as PipelineError).reason, killAt === 'first' ? 'first!' : 'last!')
    // The error carries the report, as run's Left does: both stages, with what they did before the kill.
    const report = (thrown as PipelineError).report
    assert.ok(report !== undefined, `${killAt}: the thrown error has the run's report`)
    assert.equal(report.stages.map((s) => s.inFlight), [0, 0])
    assert.ok(report.stages.length === 2 && report.stages[0]!.processed >= seen.length, `${killAt}: ${JSON.stringify(report.stages.map((s) => s.processed))}`)
    for (const r of seen) assert.is((r as { _tag: string })._tag, 'Right', `${killAt}: no Left of an aborted handler is emitted before the kill`)
    await withTimeout(src.closed, 1000)
    assert.ok(src.pulled() < 10 + 2 + 1 + 2 + 3 + 2, `${killAt}: pulled ${src.pulled()}`)
    await assertNoLeaks(before, `for await, kill in ${killAt}`)
  }
})

test('kill during a downstream retry replay, and collect, resolve Left killed', async () => {
  const before = await baseline()
  let calls = 0
  const result = await collect(
    pipe(
      [1, 2, 3],
      pool((n: number, { attempt }) => {
        calls++
        if (attempt === 1) throw new Error('first try fails')
        return n === 2 ? kill('on replay') : n
      }),
      retry({ retries: 2, backoff: 'none' }),
    ),
  )
  const error = leftOf(result)
  assert.is(error.kind, 'killed')
  assert.is(error.reason, 'on replay')
  assert.ok(calls >= 4)
  await assertNoLeaks(before)
})

test('kill() without a reason, and a kill after another ending, keep the first ending', async () => {
  const r1 = leftOf(await run(pipe([1], pool(() => kill()))))
  assert.is(r1.kind, 'killed')
  assert.is(r1.reason, 'killed')
  // Two items kill: the first reason wins.
  const r2 = leftOf(await run(pipe([1, 2], pool((n: number) => kill(`k${n}`), 2))))
  assert.is(r2.reason, 'k1')
})

test.run()
