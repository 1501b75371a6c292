// Fault injection for user callbacks (issue 11): onProgress, the logger, init, dispose, deadLetter sinks,
// retry's `when` and `backoff`, and fork's merge, each made to throw, to return a rejected promise, or (where
// its value is used) to never settle. Every run settles within its bound and loses nothing: each item is a
// Right or a Left, or, for a fault that ends the run, the run is a Left PipelineError with a partial report.
// Bounds: 100 ms from the abort (or from the fault that ends the run); a small run that completes, 2 s;
// a run whose dispose never settles, COMPLETE_WITH_HUNG_DISPOSE_MS (the cleanup grace is a few seconds).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, deadLetter, fork, pipe, pool, retry, run, StageError, type Collected, type Either, type Logger, type PipelineError, type Report, type StageContext } from '../../src/index.js'
import { deferred, withTimeout, leftOf, range, right } from '../_helpers.js'

const PROMPT_MS = 100
const COMPLETE_MS = 2_000
const COMPLETE_WITH_HUNG_DISPOSE_MS = 10_000
const N = 10

const unhandled: string[] = []
process.on('unhandledRejection', (error) => void unhandled.push(`unhandledRejection: ${String((error as Error)?.message ?? typeof error)}`))
process.on('uncaughtException', (error) => void unhandled.push(`uncaughtException: ${String((error as Error)?.message ?? typeof error)}`))
/** Each test starts clean: what an earlier (failed) test left unhandled is not blamed on the next one. */
test.before.each(async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  unhandled.length = 0
})
/** A rejection nobody handles is reported after the microtasks drain: give it a few turns, then check. */
async function noUnhandled(what: string): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.equal(unhandled.splice(0), [], `${what}: no unhandled rejection or uncaught exception`)
}

type Fault = 'throws' | 'rejects' | 'never settles'
const boom = new Error('callback failed')
/** The callback's body for a fault. */
const faulty = (fault: Fault): unknown => {
  if (fault === 'throws') throw boom
  return fault === 'rejects' ? Promise.reject(boom) : new Promise(() => {})
}

const later = async (n: number, { signal }: StageContext): Promise<number> => {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, 2)
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true })
  })
  return n
}

/** A complete run: every item is a value or a StageError, and the report counts each once. */
function accounted(got: { values: unknown[]; errors: unknown[]; report: Report }, what: string, n = N): void {
  assert.is(got.values.length + got.errors.length, n, `${what}: ${got.values.length} values + ${got.errors.length} errors for ${n} items`)
  assert.ok(got.errors.every((e) => e instanceof StageError), `${what}: each Left is a StageError`)
  assert.is(got.report.processed + got.report.failed, n, `${what}: the report counts each item once`)
}

/** A run ended early: a PipelineError of `kind` with a partial report that counts nothing twice. */
function endedEarly(error: PipelineError, kind: string, what: string, n = N): void {
  assert.is(error.kind, kind, `${what}: ${error.kind}: ${error.message}`)
  assert.ok(error.report !== undefined, `${what}: the partial report is attached`)
  assert.ok(error.report!.processed + error.report!.failed <= n, `${what}: nothing counted twice`)
}

/** Aborts `ac` and returns how long `pending` then takes to settle. */
async function cancelAndTime<T>(ac: AbortController, pending: Promise<T>, what: string): Promise<T> {
  const t0 = performance.now()
  ac.abort(new Error('stop'))
  const result = await withTimeout(pending, 2_000, what)
  const elapsed = performance.now() - t0
  assert.ok(elapsed < PROMPT_MS, `${what}: resolved ${elapsed.toFixed(1)} ms after the abort`)
  return result
}

// --- onProgress -------------------------------------------------------------------------------------

test('an onProgress that throws ends the run promptly as an internal error with its cause and a partial report', async () => {
  let thrownAt = -1
  const pending = run(pipe(range(200), pool(later, 2)), {
    progressMs: 5,
    onProgress: () => {
      thrownAt = performance.now()
      throw boom
    },
  })
  const error = leftOf(await withTimeout(pending, COMPLETE_MS, 'run'))
  assert.ok(performance.now() - thrownAt < PROMPT_MS, 'resolved promptly after the throw')
  endedEarly(error, 'internal', 'onProgress throws', 200)
  assert.is(error.cause, boom)
  await noUnhandled('onProgress throws')
})

for (const fault of ['rejects', 'never settles'] as const)
  test(`an onProgress that ${fault === 'rejects' ? 'returns a rejected promise' : 'returns a promise that never settles'}: the run settles with every item, nothing unhandled`, async () => {
    const result = await withTimeout(collect(pipe(range(N), pool(later, 2)), { progressMs: 1, onProgress: () => faulty(fault) }), COMPLETE_MS, 'collect')
    // A rejection may end the run as a throw does; a pending promise is not waited for.
    if (result._tag === 'Left' && fault === 'rejects') {
      endedEarly(result.left, 'internal', 'onProgress rejects')
      assert.is(result.left.cause, boom)
    } else accounted(right(result), `onProgress ${fault}`)
    await noUnhandled(`onProgress ${fault}`)
  })

// --- the logger ---------------------------------------------------------------------------------------

/** Items 0..9: item 3 always fails (warn), item 5 fails once (debug), dispose throws (error), item 0 calls ctx.log.info. */
function logged(log: Logger): Promise<Either<PipelineError, Collected<number>>> {
  const h = async (n: number, ctx: StageContext): Promise<number> => {
    await new Promise((resolve) => setImmediate(resolve))
    if (n === 0) ctx.log.info('item 0 says hello')
    if (n === 3 || (n === 5 && ctx.attempt === 1)) throw new Error(`item ${n} failed`)
    return n
  }
  return collect(pipe(range(N), pool(h, { name: 'logged', concurrency: 2, retries: 1, dispose: () => faulty('throws') }), retry({ retries: 1, backoff: 'none' })), { log })
}

/** Runs `body` with console.error silenced: pipevine may report a failing logger there. */
async function quietly<T>(body: () => Promise<T>): Promise<T> {
  const original = console.error
  console.error = () => {}
  try {
    return await body()
  } finally {
    console.error = original
  }
}

for (const level of ['debug', 'info', 'warn', 'error'] as const)
  for (const fault of ['throws', 'rejects'] as const)
    test(`a logger whose ${level} ${fault === 'throws' ? 'throws' : 'returns a rejected promise'} never stops or hangs the run: every item is accounted for`, async () => {
      const log: Logger = { debug() {}, info() {}, warn() {}, error() {} }
      log[level] = (() => faulty(fault)) as Logger['debug']
      const got = right(await quietly(() => withTimeout(logged(log), COMPLETE_MS, 'collect')))
      accounted(got, `${level} ${fault}`)
      assert.ok(got.errors.some((e) => e.item === 3), 'the failing item is a Left')
      assert.ok(got.values.includes(5), 'the item that failed once was retried in place')
      await noUnhandled(`logger ${level} ${fault}`)
    })

test('a partial logger ({ warn }) is either refused by run()/collect() with a TypeError naming the missing methods, or its missing levels are skipped', async () => {
  const partial = { warn() {} } as unknown as Logger
  // Reaches debug (a retry in place) and error (a dispose that throws).
  const h = (n: number, ctx: StageContext): number => {
    if (n === 5 && ctx.attempt === 1) throw new Error('once')
    return n
  }
  for (const start of ['run', 'collect'] as const) {
    const flow = pipe(range(N), pool(h, { retries: 1, dispose: () => faulty('throws') }))
    const result = await quietly(async () => {
      try {
        const pending: Promise<Either<PipelineError, Report | Collected<number>>> = start === 'run' ? run(flow, { log: partial }) : collect(flow, { log: partial })
        return await withTimeout(pending, COMPLETE_MS, start)
      } catch (error) {
        if (error instanceof Error && /did not settle/.test(error.message)) throw error
        assert.ok(error instanceof TypeError, `${start}: refused with ${String(error)}`)
        for (const missing of ['debug', 'error']) assert.ok(error.message.includes(missing), `${start}: the message names \`${missing}\`: ${error.message}`)
        return undefined
      }
    })
    if (result === undefined) continue
    const got = right(result)
    const report = 'report' in got ? got.report : got
    assert.is(report.processed, N, `${start}: the levels it lacks change nothing`)
    assert.is(report.failed, 0, start)
  }
  await noUnhandled('partial logger')
})

// --- init and dispose ---------------------------------------------------------------------------------

for (const fault of ['throws', 'rejects'] as const)
  test(`an init that ${fault === 'throws' ? 'throws' : 'rejects'} on every worker fails the items with its error, logged at error; the run completes`, async () => {
    const errors: string[] = []
    const log: Logger = { debug() {}, info() {}, warn() {}, error: (message: string) => void errors.push(message) }
    const got = right(await withTimeout(collect(pipe(range(N), pool(later, { concurrency: 2, init: () => faulty(fault) })), { log }), COMPLETE_MS, 'collect'))
    accounted(got, `init ${fault}`)
    assert.is(got.errors.length, N, 'no worker can take an item')
    assert.ok(got.errors.every((e) => e.cause === boom), 'each Left carries the init error')
    assert.ok(errors.length >= 1, 'init failures are logged at error')
    await noUnhandled(`init ${fault}`)
  })

test('an init that never settles: cancelling still resolves within 100 ms of the abort, as cancelled with a report', async () => {
  const ac = new AbortController()
  const called = deferred()
  const pending = run(pipe(range(N), pool(later, { concurrency: 2, init: () => (called.resolve(), faulty('never settles')) })), { signal: ac.signal })
  await withTimeout(called.promise, COMPLETE_MS, 'init called')
  endedEarly(leftOf(await cancelAndTime(ac, pending, 'run')), 'cancelled', 'init never settles')
  await noUnhandled('init never settles')
})

for (const fault of ['throws', 'rejects', 'never settles'] as const)
  test(`a dispose that ${fault === 'rejects' ? 'rejects' : fault}: a cancelled run still resolves within 100 ms of the abort`, async () => {
    const ac = new AbortController()
    const started = deferred()
    let running = 0
    const h = async (n: number, ctx: StageContext): Promise<number> => {
      if (++running === 2) started.resolve()
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))
      return n
    }
    const pending = run(pipe(range(N), pool(h, { concurrency: 2, dispose: () => faulty(fault) })), { signal: ac.signal })
    await withTimeout(started.promise, COMPLETE_MS, 'both workers started')
    endedEarly(leftOf(await cancelAndTime(ac, pending, 'run')), 'cancelled', `dispose ${fault}`)
    await noUnhandled(`dispose ${fault} on cancel`)
  })

for (const fault of ['throws', 'rejects', 'never settles'] as const)
  test(`a dispose that ${fault === 'rejects' ? 'rejects' : fault}: a run that completes still resolves with every item${fault === 'never settles' ? ' (after the cleanup grace)' : ''}`, async () => {
    const bound = fault === 'never settles' ? COMPLETE_WITH_HUNG_DISPOSE_MS : COMPLETE_MS
    const t0 = performance.now()
    const got = right(await withTimeout(collect(pipe(range(N), pool(later, { concurrency: 2, dispose: () => faulty(fault) }))), bound, 'collect'))
    accounted(got, `dispose ${fault}`)
    assert.is(got.values.length, N)
    assert.ok(performance.now() - t0 < bound)
    await noUnhandled(`dispose ${fault} at completion`)
  })

// --- deadLetter sinks ---------------------------------------------------------------------------------

const failOdd = (n: number): number => {
  if (n % 2 === 1) throw new Error(`odd ${n}`)
  return n
}

for (const form of ['function', 'write'] as const)
  for (const fault of ['throws', 'rejects'] as const)
    test(`a deadLetter sink (${form}) that ${fault === 'throws' ? 'throws' : 'rejects'} ends the run promptly as internal, with its cause and a partial report`, async () => {
      let failedAt = -1
      const send = (): unknown => ((failedAt = performance.now()), faulty(fault))
      const sink = form === 'function' ? send : { write: send }
      const result = await withTimeout(collect(pipe(range(N), pool(failOdd), deadLetter(sink))), COMPLETE_MS, 'collect')
      assert.ok(performance.now() - failedAt < PROMPT_MS, 'resolved promptly after the sink failed')
      const error = leftOf(result)
      endedEarly(error, 'internal', `sink ${fault}`)
      assert.is(error.cause, boom, 'the cause is the sink error')
      await noUnhandled(`sink ${fault}`)
    })

test('a deadLetter sink that never settles holds the stream back; cancelling resolves within 100 ms of the abort', async () => {
  const ac = new AbortController()
  const called = deferred()
  const pending = collect(pipe(range(N), pool(failOdd), deadLetter(() => (called.resolve(), faulty('never settles')))), { signal: ac.signal })
  await withTimeout(called.promise, COMPLETE_MS, 'sink called')
  endedEarly(leftOf(await cancelAndTime(ac, pending, 'collect')), 'cancelled', 'sink never settles')
  await noUnhandled('sink never settles')
})

// --- retry's when and backoff, fork's merge -------------------------------------------------------------

const failThree = (n: number): number => {
  if (n === 3) throw new Error('item 3 failed')
  return n
}

for (const fault of ['throws', 'rejects'] as const)
  test(`a retry whose when ${fault === 'throws' ? 'throws' : 'returns a rejected promise'}: the item still ends as a Left, the others flow on, nothing unhandled`, async () => {
    const policy = { retries: 2, backoff: 'none' as const, when: () => faulty(fault) as boolean }
    const got = right(await withTimeout(collect(pipe(range(N), pool(failThree), retry(policy))), COMPLETE_MS, 'collect'))
    accounted(got, `when ${fault}`)
    assert.equal(got.errors.map((e) => e.item), [3])
    if (fault === 'throws') assert.is(got.errors[0]!.attempts, 1, 'a when that throws means no retry')
    await noUnhandled(`when ${fault}`)
  })

for (const fault of ['throws', 'rejects'] as const)
  test(`a retry whose backoff ${fault === 'throws' ? 'throws' : 'returns a rejected promise'}: no more retries for that item, logged at error; nothing unhandled`, async () => {
    const errors: string[] = []
    const log: Logger = { debug() {}, info() {}, warn() {}, error: (message: string) => void errors.push(message) }
    const policy = { retries: 2, backoff: () => faulty(fault) as number }
    const got = right(await withTimeout(collect(pipe(range(N), pool(failThree), retry(policy)), { log }), COMPLETE_MS, 'collect'))
    accounted(got, `backoff ${fault}`)
    assert.equal(got.errors.map((e) => e.item), [3])
    assert.is(got.errors[0]!.attempts, 1, 'not retried')
    assert.ok(errors.length >= 1, 'the failing backoff is logged at error')
    await noUnhandled(`backoff ${fault}`)
  })

test('a retry whose backoff never settles: cancelling resolves within 100 ms of the abort', async () => {
  const ac = new AbortController()
  const called = deferred()
  const policy = { retries: 2, backoff: () => (called.resolve(), faulty('never settles')) as number }
  const pending = collect(pipe(range(N), pool(later), pool(failThree), retry(policy)), { signal: ac.signal })
  await withTimeout(called.promise, COMPLETE_MS, 'backoff called')
  const result = await cancelAndTime(ac, pending, 'collect')
  // A backoff that is not awaited (a promise refused as a delay) may let the run finish first.
  if (result._tag === 'Left') endedEarly(result.left, 'cancelled', 'backoff never settles')
  else accounted(result.right, 'backoff never settles')
  await noUnhandled('backoff never settles')
})

for (const fault of ['throws', 'rejects'] as const)
  test(`a fork merge that ${fault === 'throws' ? 'throws' : 'rejects'} for one item fails only that item, with its error`, async () => {
    const merge = ([a]: number[]): number => (a === 3 ? (faulty(fault) as number) : a!)
    const got = right(await withTimeout(collect(pipe(range(N), fork([(n: number) => n, later], merge, { concurrency: 2 }))), COMPLETE_MS, 'collect'))
    accounted(got, `merge ${fault}`)
    assert.equal(got.errors.map((e) => e.item), [3])
    assert.is(got.errors[0]!.cause, boom)
    await noUnhandled(`merge ${fault}`)
  })

test('a fork merge that never settles holds its item; cancelling resolves within 100 ms of the abort', async () => {
  const ac = new AbortController()
  const called = deferred()
  const merge = ([a]: number[]): unknown => (a === 3 ? (called.resolve(), faulty('never settles')) : a)
  const pending = collect(pipe(range(N), fork([(n: number) => n, later], merge)), { signal: ac.signal })
  await withTimeout(called.promise, COMPLETE_MS, 'merge called')
  endedEarly(leftOf(await cancelAndTime(ac, pending, 'collect')), 'cancelled', 'merge never settles')
  await noUnhandled('merge never settles')
})

test.run()
