import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { AsyncIterableX } from 'ix/asynciterable/asynciterablex'
import { from, pipe, pool, values } from '../../src/index.js'
import { drain, idle, typeError } from '../_helpers.js'

test('from: a sync iterable is pulled lazily, never copied whole', async () => {
  let pulled = 0
  let closed = false
  function* naturals() {
    try {
      for (let i = 0; ; i++) {
        pulled++
        yield i
      }
    } finally {
      closed = true
    }
  }
  const got: number[] = []
  for await (const n of pipe(from(naturals()), pool((n: number) => n, { ordered: true, buffer: 2, concurrency: 2 }), values())) {
    got.push(n)
    if (got.length === 3) break
  }
  assert.equal(got, [0, 1, 2])
  assert.ok(pulled <= 3 + 2 + 2 + 1, `pulled ${pulled}`)
  assert.ok(closed, "the iterator's finally ran")
  await idle(5)
})

test('from: arrays, Sets, generators and pipelines are Flows', async () => {
  const set = from(new Set(['a', 'b']))
  assert.ok(set instanceof AsyncIterableX)
  assert.equal(await drain(set), ['a', 'b'])
  async function* gen() {
    yield 1
    yield 2
  }
  assert.equal(await drain(from(gen())), [1, 2])
  const p = pipe([1], pool((n: number) => n + 1), values())
  assert.is(from(p), p, 'a Flow is returned as it is')
})

test('from: something that is not iterable is a TypeError naming from and source', () => {
  typeError(() => from(42 as never), 'from', 'source')
  typeError(() => from(null as never), 'from', 'source')
  typeError(() => from({} as never), 'from', 'source')
})

test.run()
