// fp-ts TaskEither / ReaderTaskEither handlers, and fp-ts pipe/flow composition.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as E from 'fp-ts/lib/Either.js'
import * as TE from 'fp-ts/lib/TaskEither.js'
import * as RTE from 'fp-ts/lib/ReaderTaskEither.js'
import { flow as fpFlow, pipe as fpPipe } from 'fp-ts/lib/function.js'
import { collect, flow, fromReaderTaskEither, fromTaskEither, isRight, pipe, pool, retry, StageError, values, type StageContext } from '../../src/index.js'
import { drain } from '../_helpers.js'

test('pipe and flow are fp-ts’s own: they compose pipevine stages and plain functions alike', async () => {
  const double = flow(pool((n: number) => n * 2, { ordered: true }), values())
  assert.is(fpPipe(3, (n) => n + 1), pipe(3, (n) => n + 1))
  const out = await drain(fpPipe([1, 2, 3], double))
  assert.equal(out, [2, 4, 6])
  const composed = fpFlow(double, pool((n: number) => n + 1, { ordered: true }), values())
  assert.equal(await drain(composed([5])), [11])
})

test('fromTaskEither: a Left fails the attempt, so retries run the task again', async () => {
  const calls = new Map<number, number>()
  const flaky = (n: number, ctx: StageContext): TE.TaskEither<Error, string> => {
    calls.set(n, (calls.get(n) ?? 0) + 1)
    return ctx.attempt === 1 && n % 2 === 0 ? TE.left(new Error(`first try of ${n}`)) : TE.right(`${n}@${ctx.attempt}`)
  }
  const result = await collect(pipe([1, 2, 3, 4], pool(fromTaskEither(flaky), { retries: 1, ordered: true })))
  assert.ok(isRight(result))
  if (!isRight(result)) return
  assert.equal(result.right.values, ['1@1', '2@2', '3@1', '4@2'])
  assert.equal([...calls.values()], [1, 2, 1, 2], 'the task ran again on retry, not just its result reused')
  assert.is(result.right.report.stages[0]!.retried, 2)
})

test('fromTaskEither: a persistent Left becomes a StageError whose cause is the Left value', async () => {
  const result = await collect(pipe(['x'], pool(fromTaskEither((s: string) => TE.left({ code: 'NOPE', s })), { name: 'te' }), retry({ retries: 2, backoff: 'none' })))
  assert.ok(isRight(result))
  if (!isRight(result)) return
  const [error] = result.right.errors
  assert.instance(error, StageError)
  assert.equal(error!.cause, { code: 'NOPE', s: 'x' })
  assert.is(error!.attempts, 3)
  assert.is(error!.stage, 'te')
})

test('a plain handler may return a TaskEither’s promise (Promise<Either>) directly', async () => {
  const parse = (s: string) => TE.tryCatch(async () => JSON.parse(s) as unknown, E.toError)()
  const result = await collect(pipe(['{"a":1}', '{oops'], pool(parse, { ordered: true })))
  assert.ok(isRight(result))
  if (!isRight(result)) return
  assert.equal(result.right.values, [{ a: 1 }])
  assert.instance(result.right.errors[0]!.cause, SyntaxError)
})

interface Db {
  get(id: number): Promise<string | undefined>
}

test('fromReaderTaskEither: the reader environment is the stage context (env, state, signal)', async () => {
  const db: Db = { get: async (id) => (id < 3 ? `user${id}` : undefined) }
  const load = (id: number): RTE.ReaderTaskEither<StageContext<{ db: Db }>, string, string> =>
    fpPipe(
      RTE.ask<StageContext<{ db: Db }>>(),
      RTE.chainTaskEitherK((ctx) =>
        TE.tryCatch(
          () => ctx.env.db.get(id),
          () => 'db failed',
        ),
      ),
      RTE.chain((name) => (name === undefined ? RTE.left(`no user ${id}`) : RTE.right(name))),
      RTE.chainFirst(() => (ctx) => {
        ctx.state.set('loaded', (ctx.state.get('loaded') ?? 0) + 1)
        return TE.right(undefined)
      }),
      RTE.map((name) => name.toUpperCase()),
    )
  const result = await collect(pipe([1, 2, 3], pool(fromReaderTaskEither(load), { ordered: true })), { env: { db } })
  assert.ok(isRight(result))
  if (!isRight(result)) return
  assert.equal(result.right.values, ['USER1', 'USER2'])
  assert.is(result.right.errors.length, 1)
  assert.is(result.right.errors[0]!.cause, 'no user 3')
})

test.run()
