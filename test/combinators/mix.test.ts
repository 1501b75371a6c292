import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { left, mix, pipe, right, StageError, values, type Either, type StageContext, type WorkerState } from '../../src/index.js'
import { counting, drain, sleep, withTimeout, idle, typeError, until, isL } from '../_helpers.js'

test('mix: with one slow and one fast handler, the fast one takes most items', async () => {
  const took = { slow: 0, fast: 0 }
  const slow = async (n: number) => {
    took.slow++
    await sleep(50)
    return n
  }
  const fast = async (n: number) => {
    took.fast++
    await new Promise((resolve) => setImmediate(resolve))
    return n
  }
  const out = await withTimeout(drain(pipe(Array.from({ length: 100 }, (_, i) => i), mix([slow, fast]), values())), 5_000)
  assert.is(out.length, 100)
  assert.equal(
    out.slice().sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => i),
  )
  assert.ok(took.slow >= 1, 'the slow handler took part')
  assert.ok(took.fast >= 90, `fast took ${took.fast}, slow ${took.slow}`)
})

test('mix: each handler keeps its own state across its items', async () => {
  const states: WorkerState[][] = [[], [], []]
  const make = (k: number) => async (n: number, ctx: StageContext) => {
    states[k]!.push(ctx.state)
    ctx.state.set('handled', [...(ctx.state.get('handled') ?? []), n])
    ctx.state.set('who', k)
    await sleep(k)
    return { n, k, worker: ctx.worker }
  }
  const out = await drain(pipe(Array.from({ length: 60 }, (_, i) => i), mix([make(0), make(1), make(2)]), values()))
  assert.is(out.length, 60)
  const distinct = new Set(states.flat())
  assert.is(distinct.size, 3)
  for (let k = 0; k < 3; k++) {
    assert.ok(states[k]!.length > 0, `handler ${k} got items`)
    assert.ok(states[k]!.every((s) => s === states[k]![0]), `handler ${k} always sees one state object`)
    const state = states[k]![0]!
    assert.is(state.get('who'), k)
    assert.equal(
      [...state.get('handled')].sort((a: number, b: number) => a - b),
      out.filter((o) => o.k === k).map((o) => o.n).sort((a, b) => a - b),
    )
    assert.ok(out.filter((o) => o.k === k).every((o) => o.worker === k), `handler ${k} is worker ${k}`)
  }
})

test('mix: ordered output, per-handler retries, and a Left input passes through', async () => {
  const bad = left(new StageError('upstream', 0, [new Error('upstream')]))
  const tries = [0, 0]
  const h = (k: number) => (n: number, ctx: StageContext) => {
    tries[k]!++
    if (ctx.attempt === 1) throw new Error(`first try of ${n}`)
    return `${k}:${n}`
  }
  const out = await drain(pipe([1, bad, 2, 3, 4], mix([h(0), h(1)], { ordered: true, retries: 1 })))
  assert.is(out.length, 5)
  assert.is(out[1], bad)
  const vals = out.filter((r) => !isL(r)).map((r) => (r as { right: string }).right)
  assert.equal(
    vals.map((v) => v.split(':')[1]),
    ['1', '2', '3', '4'],
  )
  assert.is(tries[0]! + tries[1]!, 8, 'each item ran twice')
})

test('mix: holds at most buffer + handlers items', async () => {
  const src = counting()
  const it = pipe(src.source, mix([async (n: number) => n, async (n: number) => n, async (n: number) => n], { buffer: 2 }))[Symbol.asyncIterator]()
  assert.equal((await it.next()).value, right(0))
  await until(() => src.pulled() >= 5, 'mix refilling')
  await idle(50)
  assert.ok(src.pulled() <= 2 + 3 + 1, `pulled ${src.pulled()}`)
  await it.return!()
  await withTimeout(src.closed, 1_000)
})

test('mix: bad arguments are TypeErrors naming mix and the argument', () => {
  const h = (n: number) => n
  typeError(() => mix([]), 'mix', 'handlers')
  typeError(() => mix(h as never), 'mix', 'handlers')
  typeError(() => mix([h, null as never]), 'mix', 'handlers[1]')
  typeError(() => mix([h], { concurrency: 2 } as never), 'mix', 'concurrency')
  typeError(() => mix([h], { buffer: -1 }), 'mix', 'buffer')
  typeError(() => mix([h], { retries: 0.5 }), 'mix', 'retries')
  typeError(() => mix([h], { timeout: -1 }), 'mix', 'timeout')
})

test.run()
