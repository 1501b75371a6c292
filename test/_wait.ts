import * as assert from 'uvu/assert'

/** Lets the event loop run `turns` full turns (microtasks and immediates), to give a stage the chance to over-pull. */
export async function idle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Waits (turn by turn, not a fixed sleep) until `condition()` holds; fails after `ms`. */
export async function until(condition: () => boolean, what = 'condition', ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!condition()) {
    if (performance.now() > deadline) assert.unreachable(`${what} did not happen within ${ms} ms`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Asserts that `fn` throws a TypeError whose message mentions every one of `words`. */
export function typeError(fn: () => unknown, ...words: string[]): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof TypeError, `expected a TypeError, got ${thrown === undefined ? 'no error' : String(thrown)}`)
  const message = (thrown as TypeError).message
  for (const word of words) assert.ok(message.includes(word), `TypeError message ${JSON.stringify(message)} should mention ${JSON.stringify(word)}`)
}
