import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as TE from 'fp-ts/lib/TaskEither.js'
import type { ReaderTaskEither } from 'fp-ts/lib/ReaderTaskEither.js'
import { fromReaderTaskEither, pipe, pool, provide, retry, right, StageError, type Either, type StageContext } from '../../src/index.js'
import { drain, typeError } from '../_helpers.js'

type Env = { rate: number }

const convert = (n: number): ReaderTaskEither<StageContext<Env>, string, number> => (ctx) =>
  n < 0 ? TE.left(`negative: ${n}`) : TE.right(n * ctx.env.rate)

test('fromReaderTaskEither hands the environment to the reader; a Right is the value', async () => {
  const out = await drain(pipe([1, 2, 3], pool(fromReaderTaskEither(convert), { ordered: true }), provide({ rate: 3 })))
  assert.equal(out, [right(3), right(6), right(9)])
})

test('fromReaderTaskEither: a Left fails the attempt (and is retried like any failure)', async () => {
  const out = await drain(pipe([-1], pool(fromReaderTaskEither(convert), { retries: 1 }), provide({ rate: 1 })))
  const r = out[0] as Either<StageError, number>
  assert.ok(r._tag === 'Left')
  assert.ok(r.left instanceof StageError)
  assert.is(r.left.attempts, 2)
  assert.equal(r.left.errors, ['negative: -1', 'negative: -1'])

  let calls = 0
  const flaky = (n: number): ReaderTaskEither<StageContext<Env>, Error, number> => (ctx) =>
    TE.tryCatch(
      async () => {
        calls++
        if (ctx.attempt === 1) throw new Error('transient')
        return n + ctx.env.rate
      },
      (e) => e as Error,
    )
  const out2 = await drain(pipe([1], pool(fromReaderTaskEither(flaky)), retry({ retries: 1, backoff: 'none' }), provide({ rate: 5 })))
  assert.equal(out2, [right(6)])
  assert.is(calls, 2)
})

test('fromReaderTaskEither sees the whole context: state, worker, signal, attempt', async () => {
  const seen: StageContext<Env>[] = []
  const f = (n: number): ReaderTaskEither<StageContext<Env>, never, number> => (ctx) => {
    seen.push(ctx)
    ctx.state.set('n', n)
    return TE.right(n)
  }
  await drain(pipe([1], pool(fromReaderTaskEither(f), { name: 'reader' }), provide({ rate: 1 })))
  assert.is(seen.length, 1)
  assert.is(seen[0]!.stage, 'reader')
  assert.is(seen[0]!.attempt, 1)
  assert.is(seen[0]!.worker, 0)
  assert.ok(seen[0]!.signal instanceof AbortSignal)
  assert.is(seen[0]!.state.get('n'), 1)
})

test('fromReaderTaskEither: a non-function is a TypeError', () => {
  typeError(() => fromReaderTaskEither(42 as never), 'fromReaderTaskEither')
})

test.run()
