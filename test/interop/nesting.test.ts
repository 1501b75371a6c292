// A pipeline nested inside another: as its source, as a reusable operator built
// with flow(), and run from inside a handler. `for await` over the outer one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, flow, isRight, pipe, pool, provide, run, values, type StageContext } from '../../src/index.js'
import { deferred, drain, withTimeout, closingSource } from '../_helpers.js'

test('for await over an outer pipeline whose source is another pipeline; provide reaches the inner stages', async () => {
  const inner = pipe(
    [1, 2, 3],
    pool((n: number, ctx: StageContext<string>) => `${ctx.env}:${n}`, { ordered: true, name: 'inner' }),
    values(),
  )
  const outer = pipe(inner, pool((s: string, ctx: StageContext<string>) => `${s}|${ctx.env}`, { ordered: true, name: 'outer' }), values(), provide('E'))
  const got: string[] = []
  for await (const s of outer) got.push(s)
  assert.equal(got, ['E:1|E', 'E:2|E', 'E:3|E'])
  // Each iteration opens fresh stages: the same nested pipeline can run twice.
  assert.equal(await drain(outer), got)
})

test('the nested stages run inside the outer run: same env, one report', async () => {
  const enrich = flow(
    pool(function lookup(n: number, ctx: StageContext<{ k: number }>) {
      return n * ctx.env.k
    }, 2),
    values(),
  )
  const inner = pipe([1, 2, 3, 4], pool(function load(n: number) {
    return n
  }), values())
  const result = await collect(pipe(inner, enrich, pool(function store(n: number) {
    return n + 1
  })), { env: { k: 100 } })
  assert.ok(isRight(result))
  if (!isRight(result)) return
  assert.equal([...result.right.values].sort((a, b) => (a as number) - (b as number)), [101, 201, 301, 401])
  assert.equal(result.right.report.stages.map((s) => s.name).sort(), ['load', 'lookup', 'store'])
  for (const stage of result.right.report.stages) assert.is(stage.processed, 4, stage.name)
})

test('break in the outer for await stops the inner pipeline: its source closes, its in-flight handler aborts', async () => {
  const src = closingSource(1_000_000)
  const aborted = deferred()
  const started = deferred()
  const inner = pipe(
    src.gen,
    pool(async (n: number, { signal }: StageContext) => {
      if (n < 2) return n
      started.resolve()
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      aborted.resolve()
      return n
    }, 2),
    values(),
  )
  const seen: number[] = []
  for await (const n of pipe(inner, pool((n: number) => n * 2, { ordered: true }), values())) {
    seen.push(n)
    if (seen.length === 2) {
      await withTimeout(started.promise, 2_000, 'a slow inner handler starting')
      break
    }
  }
  assert.is(seen.length, 2)
  await withTimeout(src.closed, 2_000, 'inner source closing')
  await withTimeout(aborted.promise, 2_000, 'inner in-flight handler aborting')
})

test('cancelling the outer run cancels the inner pipeline', async () => {
  const src = closingSource(1_000_000)
  const started = deferred()
  const inner = pipe(src.gen, pool(async (n: number, { signal }: StageContext) => {
    started.resolve()
    await new Promise((resolve) => setTimeout(resolve, 1))
    if (signal.aborted) throw signal.reason
    return n
  }, 2))
  const controller = new AbortController()
  const running = run(pipe(inner, values(), pool((n: number) => n)), { signal: controller.signal })
  await withTimeout(started.promise, 2_000, 'inner started')
  controller.abort()
  const result = await withTimeout(running, 2_000, 'run settling')
  assert.ok(result._tag === 'Left' && result.left.kind === 'cancelled')
  await withTimeout(src.closed, 2_000, 'inner source closing')
})

test('a handler may for-await a pipeline of its own, linked to its signal and env via collect', async () => {
  const perItem = pool(async (n: number, ctx: StageContext<number>) => {
    const sub = await collect(pipe([n, n + 1, n + 2], pool((m: number, c: StageContext<number>) => m * c.env, { ordered: true })), { env: ctx.env, signal: ctx.signal })
    if (sub._tag === 'Left') throw sub.left
    let sum = 0
    for await (const v of pipe(sub.right.values as number[], pool((v: number) => v, { ordered: true }), values())) sum += v
    return sum
  }, { concurrency: 2, ordered: true })
  const out = await drain(pipe([0, 10], perItem, values(), provide(2)))
  assert.equal(out, [2 * (0 + 1 + 2), 2 * (10 + 11 + 12)])
})

test.run()
