// Checked by `tsc -p test/tsconfig.json` (part of `npm test`); the runtime assertions make it a uvu test too.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Either } from 'fp-ts/lib/Either.js'
import { batch, buffer, deadLetter, errors, orThrow, unbatch, flow, fork, left, mix, pipe, pool, retry, right, values, type Flow, type Operator, type StageContext, type StageError, type WorkerStage } from '../src/index.js'
import { drain } from './_helpers.js'

/** True only when A and B are the same type (not merely assignable). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const exact = <A, B>(_proof: Equals<A, B>): void => {}

const strings = pipe([1, 2, 3], pool((x: number) => String(x), 2))
exact<typeof strings, Flow<Either<StageError, string>>>(true)
// @ts-expect-error: not a Flow of plain strings
exact<typeof strings, Flow<string>>(true)

// a stage whose input type does not match the previous stage's output is a compile error
// @ts-expect-error: pool expects numbers, gets Either<StageError, string>
const mismatched = pipe([1, 2, 3], pool((x: number) => String(x), 2), pool((n: number) => n + 1))
// @ts-expect-error: the source's items are strings, the handler takes numbers
const mismatchedSource = pipe(['a', 'b'], pool((n: number) => n * 2))

// promises are awaited and Eithers unwrapped in the output type
const asyncUnwrapped = pipe([1], pool(async (n: number) => right(n > 0)))
exact<typeof asyncUnwrapped, Flow<Either<StageError, boolean>>>(true)

// values() unwraps; the next stage takes the unwrapped type
const chained = pipe([1], pool((n: number) => ({ n })), values(), pool(({ n }: { n: number }) => n * 2), retry(2))
exact<typeof chained, Flow<Either<StageError, number>>>(true)

// fork merges per handler; mix's output is the union of its handlers'
const forked = pipe([1], fork([(n: number) => n, (n: number) => String(n)], ([a, b]) => `${a}${b}`))
exact<typeof forked, Flow<Either<StageError, string>>>(true)
const mixed = pipe([1], mix([(n: number) => n, async (n: number) => String(n)]))
exact<typeof mixed, Flow<Either<StageError, number | string>>>(true)
// a handler that may return a Left: the Left adds nothing to the value type
const maybe = pipe([1], pool((n: number) => (n > 0 ? right(n) : left(`negative: ${n}`))))
exact<typeof maybe, Flow<Either<StageError, number>>>(true)
// mix and fork infer their input from the handlers, so they can be built outside a pipe
const mixOp = mix([(n: number) => n, (n: number) => String(n)])
exact<typeof mixOp, WorkerStage<number, number | string>>(true)
const forkOp = fork([(n: number) => n, async (n: number) => String(n)] as const, ([a, b]) => a + b.length)
exact<typeof forkOp, WorkerStage<number, number>>(true)
// @ts-expect-error: fork's handlers take numbers, the source has strings
const forkMismatch = pipe(['x'], fork([(n: number) => n], ([a]) => a))
const batched = pipe([1, 2], batch(2))
exact<typeof batched, Flow<Either<StageError, number[]>>>(true)
const rescued = pipe([1], pool((n: number) => n), deadLetter(() => {}))
exact<typeof rescued, Flow<number>>(true)

// flow() infers through values(), retry(), buffer(); batch/unbatch/orThrow/errors keep their types
const incOp = flow(pool((n: number) => n + 1), values())
exact<ReturnType<typeof incOp>, Flow<number>>(true)
const retried = flow(pool((n: number) => n + 1), retry(2), buffer(3))
exact<ReturnType<typeof retried>, Flow<Either<StageError, number>>>(true)
const roundTrip = pipe([1, 2], batch(2), unbatch(), orThrow())
exact<typeof roundTrip, Flow<number>>(true)
const failures = pipe([1, 2], pool((n: number) => n), errors())
exact<typeof failures, Flow<StageError>>(true)

// the context is typed by the environment
const typedEnv = pool((n: number, ctx: StageContext<{ k: number }>) => n * ctx.env.k)
const composed = flow(typedEnv, values<number>())

test('the typed pipelines run as their types say', async () => {
  assert.equal(await drain(pipe([1, 2, 3], pool((x: number) => String(x), { concurrency: 2, ordered: true }))), [right('1'), right('2'), right('3')])
  const out = await drain(strings)
  assert.is(out.length, 3)
  for (const r of out) assert.is(typeof (r as { right: unknown }).right, 'string')
  assert.equal(await drain(forked), [right('11')])
  assert.ok(mismatched !== undefined && mismatchedSource !== undefined && composed !== undefined && forkMismatch !== undefined)
  assert.equal(await drain(maybe), [right(1)])
  assert.equal(await drain(roundTrip), [1, 2])
  assert.equal(await drain(incOp([1])), [2])
  assert.equal(await drain(pipe([1], forkOp)), [right(2)])
  assert.is((await drain(pipe([3], mixOp))).length, 1)
})

test.run()
