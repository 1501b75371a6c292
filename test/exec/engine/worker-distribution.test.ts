import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, pipe, pool, type StageContext } from '../../../src/index.js'
import { deferred, range, right } from '../../_helpers.js'

/** A handler with init-per-worker state that counts the items each worker (by `ctx.worker`) took, in order. */
function perWorker<T>(body: (item: number) => T) {
  const taken: number[] = []
  const inits: number[] = []
  const init = (ctx: StageContext<unknown>): { worker: number } => {
    inits.push(ctx.worker)
    return { worker: ctx.worker }
  }
  const handler = (item: number, ctx: StageContext<unknown>): T => {
    assert.is(ctx.state.get('worker'), ctx.worker, 'each worker sees its own init state')
    taken.push(ctx.worker)
    return body(item)
  }
  const counts = (): number[] => {
    const out: number[] = []
    for (const w of taken) out[w] = (out[w] ?? 0) + 1
    return out
  }
  return { init, handler, taken, inits, counts }
}

test('a synchronous handler: worker 0 takes every item, and no other worker is created (nor its init run)', async () => {
  const w = perWorker((n) => n * 2)
  const out = right(await collect(pipe(range(100), pool(w.handler, { concurrency: 4, init: w.init }))))
  assert.is(out.values.length, 100)
  assert.equal(w.counts(), [100])
  assert.equal(w.inits, [0])
})

test('async handlers that take equally long: items go round-robin, item i to worker i mod concurrency', async () => {
  const w = perWorker(async (n) => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    return n
  })
  const out = right(await collect(pipe(range(40), pool(w.handler, { concurrency: 4, init: w.init, ordered: true }))))
  assert.equal(out.values, range(40))
  assert.equal(w.inits.slice().sort(), [0, 1, 2, 3])
  assert.equal(w.taken, range(40).map((i) => i % 4))
})

test('after a burst, items that trickle in go to the longest-idle worker: they rotate over every worker', async () => {
  const w = perWorker(async (n) => n)
  // A burst of 3 items makes 3 workers; then each item waits until the previous one came out.
  let released = deferred()
  async function* source(): AsyncGenerator<number> {
    yield* [0, 1, 2]
    for (let i = 3; i < 30; i++) {
      await released.promise
      released = deferred()
      yield i
    }
  }
  const blocker = deferred()
  const handler = async (n: number, ctx: StageContext<unknown>): Promise<number> => {
    // The burst is held until all 3 are in flight, so that 3 workers exist.
    if (n < 3) await (n === 2 ? Promise.resolve(blocker.resolve()) : blocker.promise)
    return w.handler(n, ctx)
  }
  const seen: number[] = []
  for await (const r of pipe(source(), pool(handler, { concurrency: 3, init: w.init, buffer: 1 }))) {
    seen.push(r._tag === 'Right' ? r.right : -1)
    if (seen.length >= 3) released.resolve()
  }
  assert.is(seen.length, 30)
  assert.equal(w.inits.slice().sort(), [0, 1, 2])
  const counts = w.counts()
  assert.is(counts.length, 3)
  for (const c of counts) assert.ok(c >= 9 && c <= 11, `each worker took about a third: ${counts.join(', ')}`)
})

test.run()
