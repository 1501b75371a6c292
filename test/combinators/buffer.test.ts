import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buffer, left, pipe, pool, right, values } from '../../src/index.js'
import { counting, deferred, drain, withTimeout, idle, typeError, until } from '../_helpers.js'

test('buffer(n) passes every item through in order, Lefts included', async () => {
  const bad = left(new Error('x'))
  assert.equal(await drain(pipe([1, bad, 3], buffer(2))), [1, bad, 3])
  const many = Array.from({ length: 1_000 }, (_, i) => i)
  assert.equal(await drain(pipe(many, buffer(7))), many)
})

for (const n of [1, 4, 16]) {
  test(`buffer(${n}) pulls eagerly up to ${n} ahead while the consumer is busy, and no further`, async () => {
    const src = counting()
    const it = pipe(src.source, buffer(n))[Symbol.asyncIterator]()
    assert.equal((await it.next()).value, 0)
    // the consumer is "busy": no next() call. The buffer still fills on its own.
    await until(() => src.pulled() >= n + 1, `buffer(${n}) filling ahead`)
    await idle(50)
    assert.ok(src.pulled() <= n + 2, `pulled ${src.pulled()}, more than ${n} ahead`)
    assert.equal((await it.next()).value, 1)
    await until(() => src.pulled() >= n + 2, 'refilling after a read')
    await it.return!()
    await withTimeout(src.closed, 1_000)
  })
}

test('buffer lets a producer stage run ahead of a busy consumer stage', async () => {
  const gate = deferred()
  let produced = 0
  const flow = pipe(
    counting(100).source,
    pool((n: number) => (produced++, n), { buffer: 0 }),
    buffer(10),
    pool(async (r: number) => {
      await gate.promise
      return r
    }),
    values(),
  )
  const it = flow[Symbol.asyncIterator]()
  const first = it.next()
  await until(() => produced >= 10, 'producer running ahead into the buffer')
  await idle(30)
  assert.ok(produced <= 10 + 1 + 1 + 1 + 1, `produced ${produced}`)
  gate.resolve()
  assert.is((await first).value, 0)
  const rest = []
  for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value)
  assert.is(rest.length, 99)
})

test('buffer: bad sizes are TypeErrors naming buffer and size', () => {
  typeError(() => buffer(-1), 'buffer', 'size')
  typeError(() => buffer(1.5), 'buffer', 'size')
  typeError(() => buffer('3' as never), 'buffer', 'size')
  typeError(() => buffer(Number.NaN), 'buffer', 'size')
})

test.run()
