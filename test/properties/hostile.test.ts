// Hostile values (issue 11): null-prototype rows with BigInts, BigInts, Symbols,
// objects whose getters, toString or toJSON throw, revoked Proxies, a 1 MB
// Buffer, thenables whose `then` throws, Either look-alikes, and real fp-ts
// Lefts/Rights of all of those, as items, thrown values and results. First a
// table of exact outcomes per kind, then random pipelines (seeded: a failure
// prints the seed; re-run with PROPERTY_SEED=<seed>; `npm run test:stress` runs 5,000 cases).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { left } from 'fp-ts/lib/Either.js'
import { batch, buffer, collect, deadLetter, fork, mix, pipe, pool, retry, run, thread, unbatch, values, type Either, type Logger, type PipelineError } from '../../src/index.js'
import { threadCounters } from '../../src/exec/thread/thread-host.js'
import { activeResources, withTimeout, until } from '../_helpers.js'
import { BASE_KINDS, UNCLONEABLE_IN_THREAD, hostile, isStageError, threadJob, type BaseKind, type Kind } from './_hostile.js'
import { Probe, build, caseArb, itemsOf } from './_hostile-pipelines.js'

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200)
const SEED = process.env.PROPERTY_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.PROPERTY_SEED)

const unhandled: string[] = []
process.on('unhandledRejection', (error) => void unhandled.push(`unhandledRejection: ${typeof error}`))
process.on('uncaughtException', (error) => void unhandled.push(`uncaughtException: ${typeof error}`))
const noUnhandled = (what: string): void => assert.equal(unhandled, [], `${what}: no unhandled rejection or uncaught exception`)

/** Every kind once, and each real Either around every base kind. */
const CASES: [Kind, BaseKind][] = [...BASE_KINDS.map((k): [Kind, BaseKind] => [k, 'nullProto']), ...BASE_KINDS.flatMap((inner): [Kind, BaseKind][] => [['realLeft', inner], ['realRight', inner]])]
const label = (kind: Kind, inner: BaseKind): string => (kind === 'realLeft' || kind === 'realRight' ? `${kind}(${inner})` : kind)
const payloadOf = (either: unknown): unknown => (either as { left?: unknown; right?: unknown }).left ?? (either as { right?: unknown }).right

/** Counts warn lines; reads every message, as a real logger would. */
function recorder(): Logger & { warns: number } {
  const log = { warns: 0, debug: String, info: String, warn: (message: string) => void (String(message), log.warns++), error: String }
  return log
}
/** A run's Right, failing the test (with the run's kind and message) on a Left. */
function rightOf<A>(result: Either<PipelineError, A>, what: string): A {
  if (result._tag === 'Left') assert.unreachable(`${what}: the run ended as ${result.left.kind}: ${result.left.message}`)
  return (result as { right: A }).right
}
const numbers = (vs: unknown[]): unknown[] => vs.filter((v) => typeof v === 'number').sort((a, b) => (a as number) - (b as number))

// --- exact outcomes, kind by kind ------------------------------------------------------------------

test('a hostile value thrown, rejected or returned as left(x) fails only its own item, whether or not a logger describes it', async () => {
  const modes = ['throw', 'async throw', 'reject', 'left'] as const
  for (const [kind, inner] of CASES)
    for (const mode of modes)
      for (const logged of [false, true]) {
        const what = `${label(kind, inner)} (${mode}${logged ? ', logged' : ''})`
        const thrown = hostile(kind, 1, inner)
        const fail = (n: number): unknown => {
          if (n !== 1) return n
          if (mode === 'throw') throw thrown
          return mode === 'reject' ? Promise.reject(thrown) : left(thrown)
        }
        const h = mode === 'async throw' ? async (n: number) => fail(n) : fail
        const log = recorder()
        const result = await withTimeout(collect(pipe([0, 1, 2], pool(h, { name: 'h', retries: 1 })), logged ? { log } : {}), 2_000, what)
        const got = rightOf(result, what)
        assert.equal(numbers(got.values), [0, 2], `${what}: the other items are values`)
        assert.is(got.values.length, 2, what)
        assert.is(got.errors.length, 1, `${what}: one Left`)
        const error = got.errors[0]
        assert.ok(isStageError(error), `${what}: the Left is a StageError`)
        assert.is(error!.item, 1, what)
        assert.is(error!.attempts, 2, `${what}: retried in place like any failure`)
        assert.ok(error!.cause === thrown && error!.errors.every((e) => e === thrown), `${what}: the cause is the very value thrown`)
        assert.type(error!.message, 'string')
        assert.is(got.report.processed, 2, what)
        assert.is(got.report.failed, 1, what)
        if (logged) assert.is(log.warns, 1, `${what}: the item given up on is logged once at warn`)
      }
  noUnhandled('thrown values')
})

test('a hostile item that its handler fails comes out as a Left carrying that very item, replayed by a downstream retry; a real Left item passes untouched', async () => {
  for (const [kind, inner] of CASES)
    for (const sync of [true, false])
      for (const logged of [false, true]) {
        const what = `${label(kind, inner)} (${sync ? 'sync' : 'async'}${logged ? ', logged' : ''})`
        const item = hostile(kind, 1, inner)
        const given: unknown[] = []
        const reject = (x: unknown): unknown => {
          given.push(x)
          if (typeof x === 'number') return x
          throw new Error('not a number')
        }
        const h = sync ? reject : async (x: unknown) => reject(x)
        const log = recorder()
        const flow = pipe([0, item, 2] as unknown[], pool(h, { name: 'h' }), retry({ retries: 1, backoff: 'none' }))
        const result = await withTimeout(collect(flow, logged ? { log } : {}), 2_000, what)
        const got = rightOf(result, what)
        assert.ok(got.values.every((v) => typeof v === 'number'), `${what}: only the numbers are values`)
        assert.equal(numbers(got.values), [0, 2], what)
        assert.is(got.errors.length, 1, `${what}: one Left`)
        assert.is(got.report.failed, 1, what)
        const error = got.errors[0]
        if (kind === 'realLeft') {
          assert.ok((error as unknown) === payloadOf(item), `${what}: a Left item reaches the end as it was`)
          assert.not.ok(given.includes(payloadOf(item)), `${what}: no handler sees a Left`)
          continue
        }
        const expected = kind === 'realRight' ? payloadOf(item) : item
        assert.ok(isStageError(error), `${what}: the Left is a StageError`)
        assert.ok(error!.item === expected, `${what}: the StageError carries the very item${kind === 'realRight' ? " (the Right's value)" : ''}`)
        // A thenable item is awaited before any handler sees it (as `for await` does): its throwing then() is its one failure.
        if (kind === 'thenable' || (kind === 'realRight' && inner === 'thenable')) {
          assert.not.ok(given.includes(expected), `${what}: no handler saw the thenable`)
          assert.is(error!.attempts, 1, `${what}: awaiting it failed once; there is nothing to replay`)
          continue
        }
        // A revoked Proxy can't even be looked at: the stage may fail it without calling the handler.
        if (kind !== 'revoked') {
          assert.ok(given.includes(expected), `${what}: the handler got the item itself`)
          assert.is(error!.attempts, 2, `${what}: the retry replayed it`)
        }
      }
  noUnhandled('hostile items')
})

test('a hostile value a handler returns comes out as a Right of that very value (a real Left, or a thenable whose then throws, as a Left)', async () => {
  for (const [kind, inner] of CASES)
    for (const sync of [true, false])
      for (const logged of [false, true]) {
        const what = `${label(kind, inner)} (${sync ? 'sync' : 'async'}${logged ? ', logged' : ''})`
        const value = hostile(kind, 1, inner)
        const give = (n: number): unknown => (n === 1 ? value : n)
        const h = sync ? give : async (n: number) => give(n)
        const log = recorder()
        const flow = pipe([0, 1, 2], pool(h, { name: 'h' }), pool((x: unknown) => x, { name: 'echo' }))
        const result = await withTimeout(collect(flow, logged ? { log } : {}), 2_000, what)
        const got = rightOf(result, what)
        assert.is(got.values.length + got.errors.length, 3, `${what}: three items in, three out`)
        assert.equal(numbers(got.values), [0, 2], `${what}: the other items are values`)
        assert.is(got.report.processed + got.report.failed, 3, what)
        const failed = got.errors.length === 1
        const expected = kind === 'realRight' ? payloadOf(value) : value
        const like = (k: Kind): boolean => kind === k || (kind === 'realRight' && inner === k)
        // Item 1's Left comes from `h`, or from `echo` when `h`'s value can't pass as a value there.
        if (failed) assert.ok(isStageError(got.errors[0]) && (got.errors[0].item === 1 || got.errors[0].item === expected), `${what}: a Left is the item's StageError`)
        if (kind === 'realLeft') {
          assert.ok(failed && got.errors[0]!.item === 1 && got.errors[0]!.cause === payloadOf(value), `${what}: a returned Left fails the item with its payload`)
        } else if (like('thenable')) {
          assert.ok(failed, `${what}: a result whose then() throws fails its item, as await would`)
        } else if (!like('revoked')) {
          // A revoked Proxy may come out either way: awaiting one throws.
          assert.ok(!failed && got.values.includes(expected), `${what}: the very value comes out as a Right`)
        }
      }
  noUnhandled('hostile results')
})

test('Either look-alikes without their key are plain values everywhere: stages, values(), deadLetter, batch, buffer, collect and run', async () => {
  const lookRight = { _tag: 'Right', payload: 1 }
  const lookLeft = { _tag: 'Left', reason: 'not an Either' }
  const items = [lookRight, lookLeft]
  const given: unknown[] = []
  const sunk: unknown[] = []
  const echo = (x: unknown): unknown => (given.push(x), x)
  const flows: [string, AsyncIterable<unknown> | unknown[]][] = [
    ['no stage', items],
    ['pool', pipe(items, pool(echo))],
    ['pool, values()', pipe(items, pool(echo), values())],
    ['values()', pipe(items, values())],
    ['deadLetter', pipe(items, pool(echo), deadLetter((e) => void sunk.push(e)))],
    ['batch, unbatch', pipe(items, batch(2), unbatch())],
    ['buffer, mix, fork', pipe(items, buffer(2), mix([echo, echo]), fork([echo], (rs: unknown[]) => rs[0]))],
  ]
  for (const [what, flow] of flows) {
    const result = await withTimeout(collect(flow), 2_000, what)
    const got = rightOf(result, what)
    assert.is(got.errors.length, 0, `${what}: no look-alike is an error`)
    assert.is(got.values.length, 2, what)
    assert.ok(got.values.includes(lookRight) && got.values.includes(lookLeft), `${what}: each comes out as itself`)
    assert.is(got.report.processed, 2, what)
    assert.is(got.report.failed, 0, what)
    const report = await run(flow)
    assert.ok(report._tag === 'Right' && report.right.processed === 2 && report.right.failed === 0, `${what}: run counts them as values`)
  }
  assert.ok(given.includes(lookRight) && given.includes(lookLeft), 'handlers get the look-alikes themselves')
  assert.is(sunk.length, 0, 'deadLetter sends no look-alike to its sink')
  noUnhandled('look-alikes')
})

test('in a thread stage, a value that cannot be cloned fails only its own item, whether thrown, returned or sent; the rest of its batch is delivered', async () => {
  const items: unknown[] = []
  const jobs: { i: number; kind: string; how: string }[] = []
  const expectLeft: unknown[] = []
  const mainSide = [...BASE_KINDS]
  let i = 0
  // Jobs make their value in the thread; hostile items made here go between them, so batches mix both.
  for (const kind of ['symbol', 'function', 'toString', 'getter', 'revoked', 'nullProto', 'bigint', 'lookRight', 'lookLeft', 'realLeft'])
    for (const how of ['throw', 'return']) {
      items.push(i++)
      const job = { i: i++, kind, how }
      items.push(job)
      jobs.push(job)
      if (how === 'throw' || UNCLONEABLE_IN_THREAD.has(kind) || kind === 'realLeft') expectLeft.push(job)
      const here = mainSide.shift()
      if (here === undefined) continue
      const item = hostile(here, i++)
      items.push(item)
      if (['symbol', 'getter', 'toString', 'toJSON', 'revoked', 'thenable'].includes(here)) expectLeft.push(item)
    }
  for (const concurrency of [1, 2]) {
    const what = `pool(thread(fn), ${concurrency})`
    const result = await withTimeout(collect(pipe(items, pool(thread(threadJob), concurrency))), 10_000, what)
    const got = rightOf(result, what)
    const failedItems = got.errors.map((e) => (isStageError(e) ? e.item : e))
    for (const item of expectLeft) assert.ok(failedItems.includes(item), `${what}: item ${items.indexOf(item)} is a Left`)
    assert.is(got.errors.length, expectLeft.length, `${what}: only those items failed`)
    assert.is(got.values.length, items.length - expectLeft.length, `${what}: every other item is a value`)
    assert.not.ok(got.values.includes(undefined), `${what}: no value turned into undefined`)
    const plain = (tag: string, key: string, at: number) =>
      got.values.some((v) => {
        try {
          return typeof v === 'object' && v !== null && (v as Record<string, unknown>)._tag === tag && (v as Record<string, unknown>)[key] === at
        } catch {
          return false // a value that can't be looked at (itself a failure, counted above)
        }
      })
    const jobAt = (kind: string) => jobs.find((job) => job.kind === kind && job.how === 'return')!.i
    assert.ok(plain('Right', 'payload', jobAt('lookRight')), `${what}: a look-alike Right returned from the thread is a plain value`)
    assert.ok(plain('Left', 'i', jobAt('lookLeft')), `${what}: a look-alike Left returned from the thread is a plain value`)
    await until(() => threadCounters.live === 0, `${what}: every thread ended`, 5_000)
  }
  noUnhandled('thread stages')
})

// Found by the property below (plain values reproduce it): a `Left` item that waits in an ordered
// stage's reorder buffer behind an item that then fails, with `values()` fused onto that stage.
test('a Left item behind a failing item in an ordered stage with values() after it: the run still ends, every item counted', async () => {
  const fail = async (n: unknown): Promise<number> => {
    await new Promise((resolve) => setTimeout(resolve, 1))
    throw new Error(`item ${String(n)} failed`)
  }
  const failed = left(new Error('already failed'))
  for (const items of [[0, failed], [0, failed, 2]] as unknown[][]) {
    const what = `${items.length} items`
    const report = rightOf(await withTimeout(run(pipe(items, pool(fail, { ordered: true }), values())), 2_000, what), what)
    assert.is(report.failed, items.length, `${what}: every item failed once`)
    assert.is(report.processed, 0, what)
  }
  noUnhandled('ordered values')
})

// --- random pipelines (built in _hostile-pipelines.ts) ---------------------------------------------

let baseline: string[] = []
const CASE_MS = 10_000
const CANCEL_MS = 1_000

test(`hostile items, thrown values and results through random pipelines: every run settles, every item is accounted for once, nothing is unhandled (${RUNS} cases, seed ${SEED})`, async () => {
  await new Promise((resolve) => setImmediate(resolve))
  baseline = activeResources()
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const probe = new Probe()
      const ops = build(c, probe)
      const items = itemsOf(c)
      const inputLefts = new Set(c.items.flatMap((d, i) => (typeof d === 'object' && d.kind === 'realLeft' ? [payloadOf(items[i])] : [])))
      const ac = new AbortController()
      let abortedAt = -1
      const source = function* () {
        for (let i = 0; i < items.length; i++) {
          if (c.ending.kind === 'cancel' && i === c.ending.after) {
            abortedAt = performance.now()
            ac.abort(new Error('cancelled by the test'))
          }
          yield items[i]
        }
      }
      const flow = (pipe as (...args: unknown[]) => AsyncIterable<unknown>)(source(), ...ops)
      const result = await withTimeout(collect(flow, { signal: ac.signal, ...(c.logged ? { log: probe.log } : {}) }), CASE_MS, 'the run')
      if (abortedAt >= 0) {
        const late = performance.now() - abortedAt
        assert.ok(late < CANCEL_MS, `the cancelled run resolved ${late.toFixed(0)} ms after the abort`)
      }
      if (result._tag === 'Left') {
        assert.ok(abortedAt >= 0 && result.left.kind === 'cancelled', `only a cancel ends a run early; it ended as ${result.left.kind}: ${result.left.message}`)
        const report = result.left.report
        assert.ok(report !== undefined && report.processed + report.failed <= items.length, 'a cancelled run has a partial report, nothing counted twice')
      } else {
        const { values: out, errors, report } = result.right
        assert.is(out.length + report.failed, items.length, `every item leaves once: ${out.length} values + ${report.failed} failed for ${items.length} items`)
        assert.is(report.processed, out.length, 'processed counts the values')
        assert.not.ok(out.includes(undefined), 'no value turned into undefined')
        assert.ok(
          errors.every((e) => isStageError(e) || inputLefts.has(e)),
          "each error is a StageError, or a Left item's own payload",
        )
        const dropped = report.failed - errors.length - probe.sunk
        assert.ok(dropped >= 0, `failed ${report.failed} < ${errors.length} errors + ${probe.sunk} sent to deadLetter`)
        if (!c.stages.some((s) => s.kind === 'values')) assert.is(dropped, 0, 'without values(), every failure is an error or went to deadLetter')
      }
      await until(() => probe.running === 0 && threadCounters.live === 0, 'abandoned handlers and threads end', 5_000)
      for (let i = 0; i < 500 && JSON.stringify(activeResources()) !== JSON.stringify(baseline); i++) await new Promise((resolve) => setImmediate(resolve))
      assert.equal(activeResources(), baseline, 'resources left behind')
      noUnhandled('the run')
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true, includeErrorInReport: true },
  )
})

test.run()
