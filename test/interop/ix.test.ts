// IxJS operators placed between pipevine stages: the run's signal and environment
// still reach the stages upstream of them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { filter, map, take } from 'ix/Ix.asynciterable.operators'
import { isRight, pipe, pool, provide, run, values, collect, type StageContext } from '../../src/index.js'
import { deferred, drain, withTimeout, closingSource } from '../_helpers.js'

interface Env {
  factor: number
}

test('run({ env }): stages on both sides of IxJS map/filter see the environment', async () => {
  const seen: unknown[] = []
  const flow = pipe(
    [1, 2, 3, 4, 5, 6],
    pool(function scale(n: number, ctx: StageContext<Env>) {
      seen.push(ctx.env)
      return n * ctx.env.factor
    }, { ordered: true }),
    values(),
    filter((n: number) => n % 20 !== 0),
    map((n: number) => n + 1),
    pool(function tag(n: number, ctx: StageContext<Env>) {
      seen.push(ctx.env)
      return `${n}/${ctx.env.factor}`
    }, { ordered: true }),
  )
  const env = { factor: 10 }
  const result = await collect(flow, { env })
  assert.ok(isRight(result))
  if (!isRight(result)) return
  assert.equal(result.right.values, ['11/10', '31/10', '51/10'])
  assert.ok(seen.length === 9 && seen.every((e) => e === env), 'every handler call saw the run env')
  // Stages upstream of the IxJS operators are in the run's report too.
  assert.equal(result.right.report.stages.map((s) => s.name).sort(), ['scale', 'tag'])
})

test('provide(env) placed last reaches upstream of an IxJS operator (plain for await, method chaining)', async () => {
  const upstream = pipe(
    [1, 2, 3],
    pool((n: number, ctx: StageContext<Env>) => n * ctx.env.factor, { ordered: true }),
    values(),
  )
  const chained = upstream.pipe(map((n: number) => n * 2))
  const out = await drain(pipe(chained, pool((n: number, ctx: StageContext<Env>) => n + ctx.env.factor, { ordered: true }), values(), provide({ factor: 3 })))
  assert.equal(out, [9, 15, 21])
})

test('cancelling the run aborts the signal of a handler upstream of an IxJS operator', async () => {
  const started = deferred()
  const aborted = deferred<unknown>()
  const src = closingSource(1_000_000)
  const flow = pipe(
    src.gen,
    pool(async (n: number, { signal }: StageContext) => {
      if (n < 3) return n
      started.resolve()
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      aborted.resolve(signal.reason)
      return n
    }, 2),
    map((e) => e),
    pool((e: number) => e),
  )
  const controller = new AbortController()
  const running = run(flow, { signal: controller.signal })
  await withTimeout(started.promise, 2_000, 'the slow handler starting')
  controller.abort()
  const result = await withTimeout(running, 2_000, 'run settling')
  assert.ok(result._tag === 'Left' && result.left.kind === 'cancelled')
  await withTimeout(aborted.promise, 2_000, 'the upstream handler seeing its signal abort')
  await withTimeout(src.closed, 2_000, 'the source closing')
})

test('IxJS take() after a stage stops the stages upstream and closes the source', async () => {
  const src = closingSource(1_000_000)
  const out = await drain(pipe(src.gen, pool(async (n: number) => n, { concurrency: 3, ordered: true }), values(), take(4)))
  assert.equal(out, [0, 1, 2, 3])
  await withTimeout(src.closed, 2_000, 'the source closing')
})

test.run()
