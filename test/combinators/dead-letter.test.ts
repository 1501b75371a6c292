import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { deadLetter, left, PipelineError, pipe, pool, right, StageError } from '../../src/index.js'
import { deferred, drain, seeded, withTimeout, typeError, until } from '../_helpers.js'

const N = 500

function failing() {
  const rand = seeded(11)
  const fails = new Set<number>()
  for (let i = 0; i < N; i++) if (rand() < 0.3) fails.add(i)
  const handler = (n: number) => {
    if (fails.has(n)) throw new Error(`bad ${n}`)
    return n
  }
  return { fails, handler }
}

test('deadLetter(fn) receives every Left; only the Right values go on, unwrapped and in order', async () => {
  const { fails, handler } = failing()
  const dead: StageError[] = []
  const out = await drain(pipe(Array.from({ length: N }, (_, i) => i), pool(handler, { concurrency: 3, ordered: true }), deadLetter((e) => void dead.push(e))))
  assert.is(dead.length, fails.size)
  assert.ok(dead.every((e) => e instanceof StageError))
  assert.equal(new Set(dead.map((e) => e.item)), fails)
  assert.equal(
    out,
    Array.from({ length: N }, (_, i) => i).filter((i) => !fails.has(i)),
  )
})

test('deadLetter accepts an object sink with write()', async () => {
  const { fails, handler } = failing()
  const sink = {
    written: [] as StageError[],
    write(e: StageError) {
      assert.is(this, sink, 'write is called as a method')
      this.written.push(e)
      return true
    },
  }
  const out = await drain(pipe(Array.from({ length: N }, (_, i) => i), pool(handler, 2), deadLetter(sink)))
  assert.is(sink.written.length, fails.size)
  assert.is(out.length, N - fails.size)
  assert.ok(out.every((v) => typeof v === 'number'))
})

test('deadLetter awaits an async sink before going on (backpressure)', async () => {
  const gate = deferred()
  const sent: unknown[] = []
  const it = pipe([right(1), left(new StageError('s', 2, [new Error('x')])), right(3)], deadLetter(async (e) => {
    sent.push(e.item)
    await gate.promise
  }))[Symbol.asyncIterator]()
  assert.equal((await it.next()).value, 1)
  const third = it.next()
  let settled = false
  third.then(() => (settled = true))
  await until(() => sent.length === 1, 'the sink got the Left')
  await new Promise((resolve) => setImmediate(resolve))
  assert.not.ok(settled, 'the next value waits for the sink')
  gate.resolve()
  assert.equal((await third).value, 3)
})

test('a sink that throws ends the pipeline with an internal PipelineError', async () => {
  let caught: unknown
  try {
    await withTimeout(
      drain(
        pipe(
          [1, 2],
          pool((): number => {
            throw new Error('x')
          }),
          deadLetter(() => {
            throw new Error('sink down')
          }),
        ),
      ),
      2_000,
    )
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof PipelineError)
  assert.is((caught as PipelineError).kind, 'internal')
  assert.is(((caught as PipelineError).cause as Error).message, 'sink down')
})

test('deadLetter: a sink that is neither a function nor has write() is a TypeError', () => {
  typeError(() => deadLetter(42 as never), 'deadLetter', 'sink')
  typeError(() => deadLetter({} as never), 'deadLetter', 'sink')
  typeError(() => deadLetter(null as never), 'deadLetter', 'sink')
})

test.run()
