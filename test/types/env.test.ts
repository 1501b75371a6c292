// The typed reader environment (#14): checked by `tsc -p test/tsconfig.json` (part of `npm test`);
// every `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, flow, fork, mix, pipe, pool, provide, retry, run, thread, toReadable, toReadableStream, values, type EnvOf, type Flow, type StageContext, type StageError, type Either } from '../../src/index.js'
import { drain } from '../_helpers.js'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const exact = <A, B>(_proof: Equals<A, B>): void => {}

interface Db { get(key: number): number }
interface Cache { hit(key: number): boolean }
const db: Db = { get: (key) => key * 10 }
const cache: Cache = { hit: (key) => key % 2 === 0 }

const load = (n: number, { env }: StageContext<{ db: Db }>) => env.db.get(n)
const check = (n: number, { env }: StageContext<{ cache: Cache }>) => env.cache.hit(n)
const double = (n: number) => n * 2

// --- the three mistakes at the top of issue #14 are compile errors ---------------------------------------
const needsDb = pipe([1, 2], pool(load))
// @ts-expect-error: the pipeline needs { db }, and run has no env ("missing env.db")
void run(needsDb)
// @ts-expect-error: an env without db ("missing env.db")
void run(needsDb, { env: { nope: true } })
// @ts-expect-error: provide's env lacks db ("missing env.db")
const misprovided = pipe([1, 2], pool(load), provide({ dbb: 42 }))
// and collect checks the same
// @ts-expect-error: collect needs the env too
void collect(needsDb)

// the stream adapters check their env as run does (not called: only compiled)
function streams(): unknown[] {
  return [
    // @ts-expect-error: toReadable needs the env too
    toReadable(needsDb),
    // @ts-expect-error: toReadableStream needs the env too
    toReadableStream(needsDb, { highWaterMark: 2 }),
    toReadable(needsDb, { env: { db } }),
    toReadableStream(pipe(needsDb, provide({ db }))),
  ]
}

// --- pipe and flow collect every stage's needs as an intersection (flattened into one object type) --------
const both = pipe([1, 2], pool(load), values(), pool(check), retry(1), pool((hit: boolean) => (hit ? 1 : 0)))
exact<EnvOf<typeof both>, { db: Db; cache: Cache }>(true)
exact<typeof both, Flow<Either<StageError, 0 | 1>, { db: Db; cache: Cache }>>(true)
// the same need twice is needed once
const twice = pipe([1], pool(load), values(), pool(load))
exact<EnvOf<typeof twice>, { db: Db }>(true)
const composed = flow(pool(load), values(), pool(check))
const viaFlow = pipe([1], pool(double), composed)
exact<EnvOf<typeof viaFlow>, { db: Db; cache: Cache }>(true)
// a pipeline used as the source of another keeps its needs
const nested = pipe(needsDb, values(), pool(check))
exact<EnvOf<typeof nested>, { db: Db; cache: Cache }>(true)
// mix and fork need what any of their handlers needs
const mixed = pipe([1], mix([load, check]))
exact<EnvOf<typeof mixed>, { db: Db } & { cache: Cache }>(true)
const forked = pipe([1], fork([load, double], ([a, b]) => a + b))
exact<EnvOf<typeof forked>, { db: Db }>(true)

// @ts-expect-error: "missing env.cache": only part of the intersection given
void run(both, { env: { db } })
// @ts-expect-error: a wrongly typed key is reported where it is written
void run(both, { env: { db, cache: { hit: 'yes' } } })
// @ts-expect-error: the env of init's context is the stage's too
void run(pipe([1], pool(double, { init: (ctx: StageContext<{ pool: string }>) => ({ name: ctx.env.pool }) })))
void run(both, { env: { db, cache } })
void run(both, { env: { db, cache, extra: 1 }, signal: AbortSignal.timeout(60_000), onProgress: (report) => void report.processed })

// --- a pipeline that needs nothing takes no env ----------------------------------------------------------
const free = pipe([1, 2], pool(double))
exact<EnvOf<typeof free>, unknown>(true)
void run(free)
void run([1, 2, 3], { failFast: true })

// --- provide(env) at the end supplies the need ------------------------------------------------------------
const provided = pipe([1, 2], pool(load), values(), pool(check), provide({ db, cache }))
exact<EnvOf<typeof provided>, unknown>(true)
void run(provided)
// @ts-expect-error: provide replaces the env upstream: it must hold all of it (cache is missing)
const halfProvided = pipe([1, 2], pool(load), values(), pool(check), provide({ db }))
// @ts-expect-error: a wrong type under the right key
const wrongProvided = pipe([1, 2], pool(load), provide({ db: { get: (key: string) => key } }))
// needs added after a provide are needed again
const after = pipe([1, 2], pool(load), provide({ db }), values(), pool(check))
exact<EnvOf<typeof after>, { cache: Cache }>(true)

// --- ctx.env is typed in every handler, unknown when the handler declares nothing -------------------------
pool((n: number, ctx) => {
  exact<typeof ctx.env, unknown>(true)
  // @ts-expect-error: an undeclared env is unknown, not any
  return ctx.env.db.get(n)
})
fork([(n: number, ctx) => (exact<typeof ctx.env, unknown>(true), n)], ([n]) => n)
// init and dispose see the env the handler declares
pool(load, {
  init: ({ env }) => ({ first: env.db.get(0) }),
  dispose: (state, { env }) => void env.db.get(state.get('first')),
})
// @ts-expect-error: the handler declared { db }, not { cache }
pool(load, { init: ({ env }) => env.cache })
// thread handlers: the env their function declares
const threaded = thread((n: number, { env }: StageContext<{ factor: number }>) => n * env.factor)
const viaThread = pipe([1], pool(threaded, 2))
exact<EnvOf<typeof viaThread>, { factor: number }>(true)
// @ts-expect-error: the thread handler needs { factor }
void run(viaThread)
void run(viaThread, { env: { factor: 2 } })

// --- for await does not check the env: provide it last (see the README's "Typed environment") -------------
async function forAwaitIsNotChecked(): Promise<void> {
  for await (const r of needsDb) void r // compiles: a pipeline is still a plain AsyncIterable
}

test('a typed env reaches the handlers through run, collect and provide', async () => {
  const ran = await collect(both, { env: { db, cache } })
  assert.ok(ran._tag === 'Right')
  if (ran._tag === 'Right') assert.equal(ran.right.values.sort(), [1, 1])
  const viaProvide = await drain(pipe([1, 2], pool(load, { ordered: true }), provide({ db }), values()))
  assert.equal(viaProvide, [10, 20])
  assert.ok(misprovided !== undefined && halfProvided !== undefined && wrongProvided !== undefined && typeof forAwaitIsNotChecked === 'function' && typeof streams === 'function')
  assert.equal(await drain(pipe([1], pool(load), provide({ db }), values(), pool(check), provide({ cache }), values())), [true])
})

test.run()
