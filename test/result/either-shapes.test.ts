import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { batch, buffer, collect, deadLetter, errors, fork, left, orThrow, pipe, pool, retry, right, run, toReadable, values, StageError } from '../../src/index.js'
import { KIND_LEFT, KIND_PLAIN, KIND_RIGHT, eitherKind } from '../../src/result/either.js'
import { drain, right as rightOf } from '../_helpers.js'

// The tag without its key: data that happens to carry a `_tag`, not an Either.
const rightLike = (): { _tag: 'Right'; payload: number } => ({ _tag: 'Right', payload: 1 })
const leftLike = (): { _tag: 'Left'; reason: string } => ({ _tag: 'Left', reason: 'not a failure' })

test('eitherKind: real Eithers by tag and key; look-alikes and unreadable objects are plain', () => {
  assert.is(eitherKind(right(1)), KIND_RIGHT)
  assert.is(eitherKind(left('e')), KIND_LEFT)
  assert.is(eitherKind({ _tag: 'Right', right: undefined }), KIND_RIGHT)
  for (const plain of [rightLike(), leftLike(), null, undefined, 0, 'Right', { right: 1 }, Object.create(null)]) {
    assert.is(eitherKind(plain), KIND_PLAIN, JSON.stringify(plain))
  }
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  assert.is(eitherKind(proxy), KIND_PLAIN)
  const throwing = Object.defineProperty({}, '_tag', {
    get() {
      throw new Error('no tag for you')
    },
  })
  assert.is(eitherKind(throwing), KIND_PLAIN)
})

test('a look-alike that reaches the end of a pipeline is a value, in the tally and in collect', async () => {
  const items = [rightLike(), leftLike()]
  const direct = rightOf(await collect(items))
  assert.equal(direct.values, items)
  assert.equal(direct.errors, [])
  assert.is(direct.report.processed, 2)
  assert.is(direct.report.failed, 0)
  const report = rightOf(await run(pipe(items, buffer(1))))
  assert.is(report.processed, 2)
  assert.is(report.failed, 0)
})

test('every stage treats a look-alike as a plain value: handlers get it, values() and deadLetter pass it, errors() drops it', async () => {
  const items = [rightLike(), leftLike()]
  const seen: unknown[] = []
  const echo = pool((x: unknown) => (seen.push(x), x), { ordered: true })
  assert.equal(await drain(pipe(items, echo, values())), items, 'a pool and a values() fused onto it')
  assert.equal(seen, items, 'the handler got the look-alikes as they are')
  assert.equal(await drain(pipe(items, values())), items, 'values() on its own')
  assert.equal(await drain(pipe(items, orThrow())), items)
  assert.equal(await drain(pipe(items, errors())), [])
  assert.equal(await drain(pipe(items, deadLetter(() => assert.unreachable('not a failure')))), items)
  assert.equal(await drain(pipe(items, batch(2), values())), [items])
  const forked = await drain(pipe(items, fork([(x: unknown) => x, () => leftLike()], ([a, b]) => [a, b], { concurrency: 1 }), values()))
  assert.equal(forked, [
    [items[0], leftLike()],
    [items[1], leftLike()],
  ])
})

test('a handler that returns a look-alike succeeds with it; a retry lets look-alikes through untouched', async () => {
  const result = rightOf(await collect(pipe([1, 2], pool(() => leftLike()), retry(2))))
  assert.equal(result.values, [leftLike(), leftLike()])
  assert.is(result.report.failed, 0)
  const passing = rightOf(await collect(pipe([leftLike(), right(3), left(new StageError('s', 4, [new Error('x')]))], retry(2))))
  assert.equal(passing.values, [leftLike(), 3])
  assert.is(passing.errors.length, 1)
})

test('toReadable emits a look-alike as it is', async () => {
  const out: unknown[] = []
  for await (const item of toReadable([rightLike(), leftLike()])) out.push(item)
  assert.equal(out, [rightLike(), leftLike()])
})

test.run()
