// Inference without hints (#14): checked by `tsc -p test/tsconfig.json`; the runtime part checks the stage names.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as TE from 'fp-ts/lib/TaskEither.js'
import * as RTE from 'fp-ts/lib/ReaderTaskEither.js'
import { collect, fork, fromReaderTaskEither, fromTaskEither, left, pipe, pool, right, values, type Either, type Flow, type StageContext, type StageError } from '../../src/index.js'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const exact = <A, B>(_proof: Equals<A, B>): void => {}

// --- fork infers a tuple from handlers given by name, no `as const` ------------------------------------------
const sentiment = async (doc: string) => ({ score: doc.length })
const keywords = (doc: string) => ({ words: doc.split(' ') })
const merged = pipe(['a b'], fork([sentiment, keywords], ([s, k]) => ({ ...s, ...k })))
exact<typeof merged, Flow<Either<StageError, { words: string[]; score: number }>>>(true)
function mergeNamed([s, k]: [{ score: number }, { words: string[] }]): number {
  return s.score + k.words.length
}
const viaNamedMerge = pipe(['a b'], fork([sentiment, keywords], mergeNamed))
exact<typeof viaNamedMerge, Flow<Either<StageError, number>>>(true)
// @ts-expect-error: the tuple has two results, not three
fork([sentiment, keywords], ([, , missing]) => missing)
// @ts-expect-error: fork's handlers take strings, the source has numbers
pipe([1], fork([sentiment, keywords], ([s]) => s))

// --- the typed failures of Either / TaskEither handlers show on StageError<E> -------------------------------
class NotFound extends Error {
  readonly tag = 'NotFound'
}
const find = (id: number) => (id > 0 ? right(id) : left(new NotFound()))
const found = pipe([1, -1], pool(find))
exact<typeof found, Flow<Either<StageError<NotFound>, number>>>(true)
const viaTask = pipe([1], pool(fromTaskEither((id: number) => TE.left<RangeError, string>(new RangeError(String(id))))))
exact<typeof viaTask, Flow<Either<StageError<RangeError>, string>>>(true)
// a stage's Lefts pass through the next one: the label keeps both stages' failures
const twoStages = pipe([1], pool(find), pool(fromTaskEither((id: number) => TE.left<RangeError, string>(new RangeError(String(id))))))
exact<typeof twoStages, Flow<Either<StageError<RangeError | NotFound>, string>>>(true)
// a plain handler adds no typed failure; a throw is never typed, so cause stays unknown
const plain = pipe([1], pool((n: number) => n))
exact<typeof plain, Flow<Either<StageError, number>>>(true)
exact<StageError<NotFound>['cause'], unknown>(true)
// collect hands back the labelled errors
async function collected(): Promise<void> {
  const result = await collect(found)
  if (result._tag === 'Right') exact<typeof result.right.errors, StageError<NotFound>[]>(true)
}

// --- ctx.state is typed from init's result -------------------------------------------------------------------
pool(
  (n: number, { state }) => {
    exact<ReturnType<typeof state.get<'conn'>>, { query(n: number): number }>(true)
    // @ts-expect-error: init gave no key 'con'
    state.get('con')
    // @ts-expect-error: 'conn' holds a connection, not a string
    state.set('conn', 'x')
    return state.get('conn').query(n)
  },
  { init: () => ({ conn: { query: (n: number) => n + 1 } }), dispose: (state) => void state.get('conn').query(0) },
)
// a Map from init types the state as well
pool((n: number, { state }) => state.get('hits') + n, { init: async () => new Map([['hits', 0]]) })
// without init: any key, any value, as before
pool((n: number, { state }) => (state.set('anything', n), state.get('anything') as number))

test('fromTaskEither and fromReaderTaskEither stages are named after f', async () => {
  const fetchUser = (id: number) => TE.right<never, string>(`user${id}`)
  const saveUser = (id: number): RTE.ReaderTaskEither<StageContext<{ db: number[] }>, Error, number> => ({ env }) => TE.right(env.db.push(id))
  assert.is(fromTaskEither(fetchUser).name, 'fetchUser')
  assert.is(fromReaderTaskEither(saveUser).name, 'saveUser')
  const failing = (name: string) => TE.left<Error, number>(new Error(`no ${name}`))
  const out = await collect(pipe([1], pool(fromTaskEither(fetchUser)), values(), pool(fromTaskEither(failing))))
  assert.ok(out._tag === 'Right')
  if (out._tag === 'Right') {
    assert.is(out.right.errors[0]!.stage, 'failing')
    assert.equal(out.right.report.stages.map((s) => s.name).slice(0, 2), ['fetchUser', 'failing'])
  }
  const saved = await collect(pipe([7], pool(fromReaderTaskEither(saveUser))), { env: { db: [] } })
  assert.equal(saved._tag === 'Right' && saved.right.report.stages[0]!.name, 'saveUser')
  // an anonymous f keeps the adapter's own name
  assert.is(fromTaskEither((id: number) => TE.right(id)).name, 'taskEitherHandler')
  assert.ok(typeof collected === 'function' && merged !== undefined && viaNamedMerge !== undefined)
})

test.run()
