import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, left, pipe, pool, right as mkRight, run, StageError, values } from '../../src/index.js'
import { deferred, drain, right, withTimeout } from '../_helpers.js'

const later = <T>(value: T, ms: number): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms))

test('items that are promises are awaited before the handler sees them; ordered output keeps their place', async () => {
  const seen: unknown[] = []
  const handler = (n: number) => {
    seen.push(n)
    return n * 2
  }
  const items = [later(1, 20), 2, later(3, 5), Promise.resolve(4), later(5, 1)]
  const out = await drain(pipe(items, pool(handler, { concurrency: 2, ordered: true }), values()))
  assert.equal(out, [2, 4, 6, 8, 10])
  assert.ok(seen.every((n) => typeof n === 'number'), `the handler saw ${seen.map(String)}`)
})

test('a rejected item promise becomes a Left for that item, counted as failed; nothing else is lost', async () => {
  const bad = Promise.reject(new Error('no such row'))
  const { values: out, errors, report } = right(await collect(pipe([1, bad, later(3, 5)], pool((n: number) => n + 1, 2))))
  assert.equal(out.slice().sort(), [2, 4])
  assert.is(errors.length, 1)
  assert.ok(errors[0] instanceof StageError)
  assert.is(errors[0]!.item, bad)
  assert.is((errors[0]!.cause as Error).message, 'no such row')
  assert.equal([report.stages[0]!.processed, report.stages[0]!.failed, report.failed], [2, 1, 1])
})

test('a promise that resolves to an Either is taken as that Either; any thenable is adopted', async () => {
  const thenable = { then: (resolve: (v: number) => void) => resolve(7) }
  const throwingThen = {
    then() {
      throw new Error('then threw')
    },
  }
  const items = [Promise.resolve(mkRight(1)), Promise.resolve(left(new StageError('before', 2, [new Error('earlier')]))), thenable, throwingThen]
  const out = await drain(pipe(items as Promise<number>[], pool((n: number) => n * 10, { ordered: true })))
  assert.equal(out.map((e) => (e._tag === 'Right' ? e.right : (e.left as StageError).stage)), [10, 'before', 70, 'pool'])
})

test('promise items count toward the stage bound: it does not pull past buffer + concurrency', async () => {
  let pulled = 0
  const pending = deferred<number>()
  function* source() {
    for (let i = 0; i < 100; i++) {
      pulled++
      yield pending.promise
    }
  }
  const it = pipe(source(), pool((n: number) => n, { concurrency: 2, buffer: 1 }), values())[Symbol.asyncIterator]()
  const first = it.next()
  await new Promise((resolve) => setTimeout(resolve, 30))
  assert.ok(pulled <= 4, `pulled ${pulled} items`)
  pending.resolve(5)
  assert.is((await withTimeout(first, 1_000)).value, 5)
  await it.return!()
})

test('a promise item that never settles does not hold up a cancel or an early break', async () => {
  const never = new Promise<number>(() => {})
  const ac = new AbortController()
  const running = run(pipe([1, never, 3], pool((n: number) => n, 2)), { signal: ac.signal })
  setTimeout(() => ac.abort(), 10)
  const result = await withTimeout(running, 1_000, 'the cancelled run')
  assert.is(result._tag, 'Left')
  const it = pipe([never], pool((n: number) => n))[Symbol.asyncIterator]()
  const read = it.next()
  await withTimeout(it.return!(), 1_000, 'return()')
  assert.equal(await withTimeout(read, 1_000, 'the pending read'), { value: undefined, done: true })
})

test('a revoked Proxy item is a plain value (reading its then throws): the handler gets it', async () => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  const out = await drain(pipe([proxy], pool((p: object) => typeof p), values()))
  assert.equal(out, ['object'])
})

test.run()
