// How a StageError reads in a terminal: `console.log(error)` and `util.inspect`.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { inspect } from 'node:util'
import { collect, isLeft, left, pipe, pool, StageError } from '../../src/index.js'

const item = { id: 42, url: `https://example.com/${'x'.repeat(200)}` }

test('util.inspect prints a StageError in five lines: message, stage, item short form, attempts, cause', () => {
  const error = new StageError('fetch', item, [new Error('ECONNRESET'), new TypeError('bad json')])
  const lines = inspect(error).split('\n')
  assert.equal(lines, [
    'StageError: stage "fetch" failed after 2 attempts: bad json',
    '  stage: fetch',
    `  item: {"id":42,"url":"https://example.com/${'x'.repeat(43)}…`,
    '  attempts: 2',
    '  cause: TypeError: bad json',
  ])
  assert.not.match(inspect(error), /\bat /, 'no stack frames')
})

test('a StageError from a real run prints without stacks, also inside a Left and inside an array', async () => {
  const got = await collect(pipe([1], pool(() => { throw new RangeError('too big') }, { retries: 2 })))
  assert.ok(!isLeft(got))
  const error = got.right.errors[0]!
  for (const value of [error, left(error), [error]]) {
    const text = inspect(value)
    assert.ok(text.split('\n').length <= 8, text)
    assert.match(text, 'attempts: 3')
    assert.match(text, 'cause: RangeError: too big')
    assert.not.match(text, /\n\s+at /, `no stack frames in:\n${text}`)
  }
})

test('hostile items and causes print without throwing: a revoked Proxy, a non-Error, a throwing name getter', () => {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  const sneaky = new Error('it broke')
  Object.defineProperty(sneaky, 'name', { get: () => { throw new Error('getter') } })
  const cases: [unknown, unknown, RegExp][] = [
    [proxy, 'plain string', /item: \[unreadable\][\s\S]*cause: plain string/],
    [Object.assign(Object.create(null), { n: 1n }), { code: 7 }, /item: \{"n":1n\}[\s\S]*cause: \{"code":7\}/],
    [1, sneaky, /cause: it broke$/],
  ]
  for (const [value, cause, pattern] of cases) assert.match(inspect(new StageError('s', value, [cause])), pattern)
})

test.run()
