import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, pipe, pool, retry, run, type Logger } from '../../src/index.js'
import { assertNoLeaks, deferred, drain, recordTimeouts, withTimeout, baseline, leftOf, right } from '../_helpers.js'

/** One always-failing item under `policy`; returns the delays retry asked setTimeout for, and the handler calls. */
async function requestedDelays(policy: Parameters<typeof retry>[0]): Promise<{ requested: number[]; calls: number }> {
  let calls = 0
  const { requested, restore } = recordTimeouts()
  try {
    await drain(
      pipe(
        [1],
        pool(() => {
          calls++
          throw new Error('no')
        }),
        retry(policy),
      ),
    )
  } finally {
    restore()
  }
  return { requested, calls }
}

/** Runs `body` with Math.random returning `value`. */
async function withRandom<T>(value: number, body: () => Promise<T>): Promise<T> {
  const real = Math.random
  Math.random = () => value
  try {
    return await body()
  } finally {
    Math.random = real
  }
}

test('a backoff that returns a promise is awaited: its value is the delay (capped by maxMs)', async () => {
  const asked: number[] = []
  const { requested, calls } = await requestedDelays({
    retries: 3,
    backoff: async (attempt) => {
      asked.push(attempt)
      return attempt * 7
    },
    maxMs: 15,
  })
  assert.equal(asked, [1, 2, 3])
  assert.equal(requested, [7, 14, 15])
  assert.is(calls, 4)
})

test('a backoff that rejects means no more retries for that item: it fails with its last error, and the logger hears why', async () => {
  const errors: string[] = []
  const log: Logger = { debug() {}, info() {}, warn() {}, error: (message: string) => void errors.push(message) }
  let calls = 0
  const result = right(
    await collect(
      pipe(
        [1, 2],
        pool((n: number) => {
          calls++
          if (n === 1) throw new Error('always')
          return n
        }),
        retry({ retries: 3, backoff: () => Promise.reject(new Error('no backoff today')) }),
      ),
      { log },
    ),
  )
  assert.equal(result.values, [2])
  assert.is(result.errors.length, 1)
  assert.is((result.errors[0]!.cause as Error).message, 'always')
  assert.is(calls, 2, 'item 1 ran once: no retry')
  assert.ok(errors.some((m) => /backoff failed.*no backoff today/.test(m)), JSON.stringify(errors))
})

test('a backoff that never settles does not hold up cancellation: the run resolves within 100 ms, nothing left behind', async () => {
  const before = await baseline()
  const asked = deferred()
  const ac = new AbortController()
  const pending = run(
    pipe(
      [1, 2, 3],
      pool((n: number) => {
        if (n === 2) throw new Error('two')
        return n
      }),
      retry({ retries: 2, backoff: () => (asked.resolve(), new Promise<number>(() => {})) }),
    ),
    { signal: ac.signal },
  )
  await withTimeout(asked.promise, 2000, 'the backoff call')
  const t0 = performance.now()
  ac.abort()
  const result = await withTimeout(pending, 2000, 'the cancelled run')
  const elapsed = performance.now() - t0
  assert.ok(elapsed < 100, `resolved ${elapsed.toFixed(1)} ms after the abort`)
  assert.is(leftOf(result).kind, 'cancelled')
  await assertNoLeaks(before, 'never-settling backoff')
})

test('jitter as a fraction f picks each delay in [delay × (1 − f), delay]; true is 0.5, 0 and false are none', async () => {
  const policy = { retries: 2, backoff: 'linear' as const, baseMs: 40 }
  assert.equal((await withRandom(0, () => requestedDelays({ ...policy, jitter: 0.25 }))).requested, [30, 60])
  assert.equal((await withRandom(0, () => requestedDelays({ ...policy, jitter: 1 }))).requested, [0, 0])
  assert.equal((await withRandom(0.5, () => requestedDelays({ ...policy, jitter: 1 }))).requested, [20, 40])
  assert.equal((await withRandom(0, () => requestedDelays({ ...policy, jitter: true }))).requested, [20, 40])
  assert.equal((await withRandom(0, () => requestedDelays({ ...policy, jitter: 0 }))).requested, [40, 80])
  assert.equal((await withRandom(0, () => requestedDelays({ ...policy, jitter: false }))).requested, [40, 80])
  const { requested } = await requestedDelays({ retries: 4, backoff: 'linear', baseMs: 20, jitter: 0.1 })
  requested.forEach((ms, i) => assert.ok(ms >= (i + 1) * 20 * 0.9 && ms <= (i + 1) * 20, `jittered delay ${i}: ${ms}`))
})

test.run()
