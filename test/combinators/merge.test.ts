import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, kill, merge, pipe, pool, run, values, type StageContext } from '../../src/index.js'
import { deferred, drain, leftOf, right, sleep, typeError, withTimeout } from '../_helpers.js'

/** An endless async source that records when its `finally` ran. */
function endless(tag: string, closed: string[]) {
  return (async function* () {
    try {
      for (let i = 0; ; i++) {
        await sleep(1)
        yield `${tag}${i}`
      }
    } finally {
      closed.push(tag)
    }
  })()
}

test('merge reads several sources into one flow: every item once, each source in its own order', async () => {
  async function* slow() {
    for (const n of [10, 11, 12]) {
      await sleep(2)
      yield n
    }
  }
  const out = await drain(merge([1, 2, 3], slow(), new Set([20, 21])))
  assert.equal(out.slice().sort((a, b) => a - b), [1, 2, 3, 10, 11, 12, 20, 21])
  assert.equal(out.filter((n) => n >= 10 && n < 20), [10, 11, 12])
  assert.equal(out.filter((n) => n < 10), [1, 2, 3])
})

test('merge pulls its sources concurrently: a slow source does not hold back a ready one', async () => {
  const gate = deferred()
  async function* stuck() {
    await gate.promise
    yield 'late'
  }
  const it = merge(stuck(), ['a', 'b'])[Symbol.asyncIterator]()
  assert.equal([(await withTimeout(it.next(), 500)).value, (await withTimeout(it.next(), 500)).value], ['a', 'b'])
  gate.resolve()
  assert.is((await it.next()).value, 'late')
  assert.is((await it.next()).done, true)
})

test('merge takes turns between sources that always have items ready', async () => {
  const out = await drain(merge([1, 1, 1, 1], [2, 2, 2, 2]))
  assert.equal(out, [1, 2, 1, 2, 1, 2, 1, 2])
})

test('merged pipelines share the run: one report, the env, and the stages downstream', async () => {
  const seen: unknown[] = []
  const tag = (name: string) => Object.defineProperty((n: number, ctx: StageContext<{ prefix: string }>) => (seen.push(ctx.env), `${ctx.env.prefix}${name}${n}`), 'name', { value: name })
  const flow = pipe(merge(pipe([1, 2], pool(tag('a'))), pipe([3], pool(tag('b')))), values(), pool((s: string) => s.toUpperCase()))
  const { values: out, report } = right(await collect(flow, { env: { prefix: 'x' } }))
  assert.equal(out.slice().sort(), ['XA1', 'XA2', 'XB3'])
  assert.equal(report.stages.map((s) => [s.name, s.processed]).sort(), [['a', 2], ['b', 1], ['pool', 3]])
  assert.ok(seen.every((env) => (env as { prefix: string }).prefix === 'x'))
})

test("the consumer's break closes every source; nothing is left running", async () => {
  const closed: string[] = []
  let taken = 0
  for await (const _ of pipe(merge(endless('a', closed), endless('b', closed), pipe(endless('c', closed), pool(async (s: string) => s, 2))), pool(async (s: unknown) => s))) {
    if (++taken === 5) break
  }
  assert.equal(closed.slice().sort(), ['a', 'b', 'c'])
})

test('a cancel or a kill closes every source before the run resolves', async () => {
  const closed: string[] = []
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 20)
  const cancelled = await withTimeout(run(pipe(merge(endless('a', closed), endless('b', closed)), pool(async (s: string) => s)), { signal: ac.signal }), 1_000)
  assert.is(leftOf(cancelled).kind, 'cancelled')
  assert.equal(closed.slice().sort(), ['a', 'b'])
  closed.length = 0
  const killed = await withTimeout(run(pipe(merge(endless('a', closed), endless('b', closed)), pool((s: string) => (s === 'b3' ? kill('enough') : s)))), 1_000)
  assert.is(leftOf(killed).kind, 'killed')
  assert.equal(closed.slice().sort(), ['a', 'b'])
})

test('a source that fails ends the merged flow with its failure and closes the others', async () => {
  const closed: string[] = []
  async function* broken() {
    await sleep(5)
    throw new Error('disk gone')
  }
  const result = await withTimeout(run(pipe(merge(endless('a', closed), broken(), endless('b', closed)), pool(async (s: string) => s))), 1_000)
  const error = leftOf(result)
  assert.is(error.kind, 'source')
  assert.match(String((error.cause as Error).message), 'disk gone')
  assert.equal(closed.slice().sort(), ['a', 'b'])
})

test('merge of nothing is an empty flow; a source that is not iterable is a TypeError naming it', async () => {
  assert.equal(await drain(merge()), [])
  typeError(() => merge([1], 42 as never), 'merge', 'sources[1]')
  typeError(() => merge(null as never), 'merge', 'sources[0]')
})

test('merged: a report counts every item', async () => {
  const report = right(await run(pipe(merge([1, 2, 3], [4, 5]), pool((n: number) => n))))
  assert.is(report.processed, 5)
})

test.run()
