import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { map } from 'ix/asynciterable/operators/map'
import { filter } from 'ix/asynciterable/operators/filter'
import { batch, flow, fork, from, mix, pipe, pool, provide, retry, unbatch, values, type StageContext } from '../../src/index.js'
import { deferred, drain, withTimeout } from '../_helpers.js'

type Env = { tag: string; k: number }

function recorder() {
  const seen: [string, unknown][] = []
  const h =
    (name: string) =>
    (n: number, ctx: StageContext<Env>): number => {
      seen.push([name, ctx.env])
      return n + ctx.env.k
    }
  return { seen, h }
}

test('provide(env) hands the environment to every stage upstream of it', async () => {
  const env: Env = { tag: 'e1', k: 1 }
  const { seen, h } = recorder()
  let initEnv: unknown
  const out = await drain(
    pipe(
      [1, 2, 3],
      pool(h('a'), { concurrency: 2, init: (ctx: StageContext<Env>) => void (initEnv = ctx.env) }),
      mix([h('b'), h('b')]),
      fork([h('c'), h('c')], ([x]) => x),
      provide(env),
      values(),
    ),
  )
  assert.equal(out.sort(), [4, 5, 6])
  assert.is(seen.length, 3 * 4)
  for (const [, e] of seen) assert.is(e, env)
  assert.is(initEnv, env, 'init sees env too')
})

test('without provide, ctx.env is undefined', async () => {
  let env: unknown = 'unset'
  await drain(pipe([1], pool((n: number, ctx: StageContext) => ((env = ctx.env), n))))
  assert.is(env, undefined)
})

test('an inner provide overrides for what lies upstream of it only', async () => {
  const { seen, h } = recorder()
  await drain(pipe([1], pool(h('inner')), provide({ tag: 'inner', k: 0 }), pool(h('outer')), provide({ tag: 'outer', k: 0 })))
  assert.equal(seen, [
    ['inner', { tag: 'inner', k: 0 }],
    ['outer', { tag: 'outer', k: 0 }],
  ])
})

test('the environment survives an IxJS operator placed between two stages (pipe)', async () => {
  const env: Env = { tag: 'ix', k: 10 }
  const { seen, h } = recorder()
  const out = await drain(
    pipe(
      [1, 2, 3, 4],
      pool(h('before'), { ordered: true }),
      values(),
      map((n: number) => n * 2),
      filter((n: number) => n !== 24),
      pool(h('after'), { ordered: true }),
      provide(env),
      values(),
    ),
  )
  assert.equal(out, [32, 36, 38])
  assert.ok(seen.length === 7)
  for (const [, e] of seen) assert.is(e, env)
})

test('the environment survives IxJS operators with flow.pipe(...) method chaining, and flow() nesting', async () => {
  const env: Env = { tag: 'chain', k: 1 }
  const { seen, h } = recorder()
  const inner = flow(pool(h('inner1')), values<number>(), map((n: number) => n + 100), pool(h('inner2')))
  const out = await drain(
    from([1, 2, 3]).pipe(map((n: number) => n * 10), pool(h('a'), 2), values<number>(), map((n: number) => n), inner, retry(1), batch(2), unbatch(), provide(env), values()),
  )
  assert.equal(
    (out as number[]).sort((a, b) => a - b),
    [113, 123, 133],
  )
  assert.is(seen.length, 9)
  for (const [, e] of seen) assert.is(e, env)
})

test('IxJS passes its signal through: aborting the signal given to the outermost iterator aborts handlers upstream of an IxJS operator', async () => {
  const started = deferred()
  const aborted = deferred<unknown>()
  const flowed = pipe(
    (function* () {
      for (let i = 0; ; i++) yield i
    })(),
    pool(async (n: number, ctx: StageContext) => {
      if (n === 0) return n
      started.resolve()
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason), { once: true })
      return new Promise<number>(() => {}) // never settles by itself
    }),
    map((r) => r),
  )
  const ac = new AbortController()
  const it = flowed[Symbol.asyncIterator](ac.signal)
  const first = await withTimeout(it.next(), 2_000)
  assert.ok(!first.done)
  await withTimeout(started.promise, 2_000, 'second item started')
  ac.abort(new Error('stop'))
  await withTimeout(aborted.promise, 2_000, 'handler signal aborted')
})

test('provide: a signal handed straight to a stage iterator aborts its handlers', async () => {
  const aborted = deferred()
  const ac = new AbortController()
  const it = pipe(
    [1],
    pool(async (_n: number, ctx: StageContext) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve(), { once: true })
      queueMicrotask(() => ac.abort())
      return new Promise<number>(() => {})
    }),
    provide({}),
  )[Symbol.asyncIterator](ac.signal)
  const pending = it.next()
  await withTimeout(aborted.promise, 2_000)
  let rejected = false
  await pending.catch(() => (rejected = true))
  assert.ok(rejected, 'the consumer sees the cancellation')
})

test.run()
