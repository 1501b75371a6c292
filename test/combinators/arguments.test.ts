import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { batch, buffer, collect, flow, fork, mix, pipe, pool, retry, run, thread, toReadable, values } from '../../src/index.js'
import { counting, drain, idle, typeError } from '../_helpers.js'

const h = (n: number): number => n * 2

test('pipe and flow: an argument that is not a function is a TypeError naming its position and value', () => {
  typeError(() => pipe([1], pool(h), 5 as never), 'pipe', 'argument 3', 'operator', '`5` (number)')
  typeError(() => pipe([1], undefined as never), 'pipe', 'argument 2', '`undefined`')
  typeError(() => pipe([1], pool(h), values(), 'x' as never), 'pipe', 'argument 4', '"x"')
  typeError(() => flow(pool(h), null as never), 'flow', 'argument 2', '`null`')
  typeError(() => flow({} as never), 'flow', 'argument 1', 'an object')
  typeError(() => (flow as unknown as () => unknown)(), 'flow', 'none')
})

test('pipe and flow still compose as fp-ts does: left to right, any number of operators, this and arguments passed on', async () => {
  assert.is(pipe(1), 1)
  assert.is(
    pipe(
      1,
      (n) => n + 1,
      (n) => n * 10,
    ),
    20,
  )
  const inc = (n: number): number => n + 1
  const many = [inc, inc, inc, inc, inc, inc, inc, inc, inc, inc, inc, inc] as const
  assert.is((pipe as (a: unknown, ...ops: ((n: number) => number)[]) => unknown)(0, ...many), 12)
  assert.is((flow as (...ops: ((n: number) => number)[]) => (n: number) => number)(...many)(0), 12, 'flow beyond fp-ts nine')
  const add = flow(
    (a: number, b: number) => a + b,
    (n) => n * 2,
  )
  assert.is(add(2, 3), 10)
  assert.equal(await drain(pipe([1, 2], flow(pool(h, { ordered: true }), values()))), [2, 4])
})

test('options must be a number or a plain options object, in every stage and runner: arrays and other objects are rejected', () => {
  const bad: unknown[] = [[], [4], new Map(), new Date(), Promise.resolve(), /x/, () => 1]
  for (const options of bad) {
    typeError(() => pool(h, options as never), 'pool', 'options')
    typeError(() => mix([h], options as never), 'mix', 'options')
    typeError(() => fork([h], (r) => r, options as never), 'fork', 'options')
    typeError(() => retry(options as never), 'retry', 'policy')
    typeError(() => batch(2, options as never), 'batch', 'options')
    typeError(() => run([1], options as never), 'run', 'options')
    typeError(() => collect([1], options as never), 'collect', 'options')
    typeError(() => toReadable([1], options as never), 'toReadable', 'options')
    typeError(() => thread(h, options as never), 'thread', 'options')
  }
  typeError(() => buffer([] as never), 'buffer', 'size')
  // Plain objects are fine, null-prototype ones included.
  pool(h, Object.assign(Object.create(null), { concurrency: 2 }))
  retry(Object.assign(Object.create(null), { retries: 2 }))
})

test('the unknown-option error lists every option the stage accepts', () => {
  typeError(() => pool(h, { concurency: 2 } as never), 'pool', 'concurency', 'concurrency', 'fork', 'buffer', 'retries', 'ordered', 'timeout', 'init', 'dispose', 'name', 'rate')
  typeError(() => fork([h], (r) => r, { concurency: 2 } as never), 'fork', 'concurency', 'concurrency', 'buffer', 'timeout')
  typeError(() => mix([h], { concurency: 2 } as never), 'mix', 'unknown option `concurency`', 'concurrency', 'rate', 'buffer', 'timeout')
  // mix takes only an adaptive `concurrency` (one worker per handler otherwise).
  typeError(() => mix([h], { concurrency: 2 } as never), 'mix', '`concurrency`', '{ min, max, initial? }')
  typeError(() => retry({ retry: 2 } as never), 'retry', 'retries', 'backoff', 'jitter', 'when', 'concurrency', 'ordered')
  typeError(() => batch(2, { maxWait: 2 } as never), 'batch', 'maxWaitMs')
})

test('buffer(0) is accepted and reads nothing ahead: items pass through as the consumer asks', async () => {
  const src = counting(10)
  const it = pipe(src.source, buffer(0))[Symbol.asyncIterator]()
  assert.equal(await it.next(), { value: 0, done: false })
  await idle()
  assert.is(src.pulled(), 1, 'no read-ahead while the consumer waits')
  assert.equal(await it.next(), { value: 1, done: false })
  await idle()
  assert.is(src.pulled(), 2)
  await it.return!()
  await src.closed
  // For contrast, buffer(1) reads one ahead.
  const ahead = counting(10)
  const it1 = pipe(ahead.source, buffer(1))[Symbol.asyncIterator]()
  await it1.next()
  await idle()
  assert.is(ahead.pulled(), 2)
  await it1.return!()
  assert.equal(await drain(pipe([1, 2, 3], buffer(0), pool(h, { ordered: true }), values())), [2, 4, 6])
  typeError(() => buffer(-1), 'buffer', 'size', '>= 0')
  typeError(() => buffer(1.5), 'buffer', 'size')
})

test('retry jitter: a boolean or a fraction in [0, 1]; anything else is a TypeError', () => {
  for (const jitter of [true, false, 0, 0.25, 1]) retry({ jitter })
  for (const jitter of [-0.1, 1.5, Number.NaN, Infinity, '0.5', null]) typeError(() => retry({ jitter: jitter as never }), 'retry', 'jitter', 'a boolean or a number in [0, 1]')
})

test.run()
