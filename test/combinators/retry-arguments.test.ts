// `retry(n, policy)`: the spec's own example writes the number of retries first and
// the rest of the policy second; it means `retry({ retries: n, ...policy })`.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pipe, pool, retry, StageError } from '../../src/index.js'
import { drain, isL, typeError, withTimeout } from '../_helpers.js'

/** Fails each item's first `failures` attempts; counts the attempts. */
function failing(failures: number) {
  const calls = new Map<number, number>()
  const handler = (n: number): number => {
    const call = (calls.get(n) ?? 0) + 1
    calls.set(n, call)
    if (call <= failures) throw new Error(`item ${n} call ${call}`)
    return n * 10
  }
  return { handler, calls }
}

test('retry(n, policy): n retries, with the rest of the policy applied', async () => {
  const { handler, calls } = failing(2)
  const delays: number[] = []
  const backoff = (attempt: number): number => {
    delays.push(attempt)
    return 0
  }
  const out = await withTimeout(drain(pipe([1, 2, 3], pool(handler), retry(2, { backoff }))), 5_000)
  assert.equal(out.map((r) => (r as { right: number }).right).sort((a, b) => a - b), [10, 20, 30])
  for (const n of [1, 2, 3]) assert.is(calls.get(n), 3, `item ${n}: one attempt and two retries`)
  assert.equal(delays.sort(), [1, 1, 1, 2, 2, 2], 'the policy’s backoff was asked before each retry')
})

test('retry(n, policy): the count comes from n (one retry too few leaves the item a Left with every attempt)', async () => {
  const { handler, calls } = failing(3)
  const [r] = await withTimeout(drain(pipe([7], pool(handler, { name: 'flaky' }), retry(2, { backoff: 'none' }))), 5_000)
  assert.ok(r && isL(r))
  const error = r.left as StageError
  assert.ok(error instanceof StageError)
  assert.is(error.attempts, 3)
  assert.is(calls.get(7), 3)
})

test('retry(n, policy): the policy’s `when` decides, as in the one-argument form', async () => {
  const { handler, calls } = failing(1)
  const [r] = await withTimeout(drain(pipe([4], pool(handler), retry(5, { backoff: 'none', when: () => false }))), 5_000)
  assert.ok(r && isL(r))
  assert.is(calls.get(4), 1, 'no retry: `when` said no')
})

test('retry(n, policy): a clear TypeError at composition for a policy that also gives retries, a policy after a policy, or a bad policy', () => {
  // @ts-expect-error `retries` given twice
  typeError(() => retry(2, { retries: 3 }), 'retry', '`retries` once', '(2)')
  // @ts-expect-error a policy object can't be followed by another
  typeError(() => retry({ retries: 2 }, { backoff: 'none' }), 'retry', '`retries` must be a number when a policy follows it', 'an object')
  // @ts-expect-error the second argument is a policy object
  typeError(() => retry(2, null), 'retry', '`policy` must be an options object', '`null`')
  // @ts-expect-error unknown option
  typeError(() => retry(2, { backof: 'none' }), 'retry', 'unknown option `backof`')
  typeError(() => retry(-1, { backoff: 'none' }), 'retry', '`retries` must be an integer >= 0', '`-1`')
})

test('retry(n) and retry(policy) are unchanged: an explicit undefined policy is the one-argument form', async () => {
  const { handler, calls } = failing(1)
  const out = await withTimeout(drain(pipe([1, 2], pool(handler), retry(1, undefined as never))), 5_000)
  assert.ok(out.every((r) => r._tag === 'Right'))
  assert.is(calls.get(1), 2)
})

test.run()
