import * as assert from 'uvu/assert'

/** Reads a whole async iterable into an array. */
export async function drain<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}

/** Rejects if `promise` does not settle within `ms` (uvu has no per-test timeout). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Asserts that `promise` rejects, and returns the rejection. */
export async function rejects(promise: Promise<unknown>, check?: (error: unknown) => boolean): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    if (check) assert.ok(check(error), `unexpected rejection: ${String(error)}`)
    return error
  }
  assert.unreachable('expected a rejection')
  return undefined
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A promise with its resolve exposed, to await an event instead of sleeping. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A small seeded PRNG (mulberry32), so "random" tests are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The process's active resources, as a sorted multiset string, for before/after comparisons. */
export function activeResources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap').sort()
}

/**
 * Asserts that the active resources return to `baseline`. Settled promises and
 * closed handles leave the list within a few turns, so this waits on
 * `setImmediate` turns (events, not a fixed sleep) up to a bound.
 */
export async function assertNoLeaks(baseline: string[], what = 'resources'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (JSON.stringify(activeResources()) === JSON.stringify(baseline)) return
    await new Promise((resolve) => setImmediate(resolve))
    if (i > 100) await sleep(5)
  }
  assert.equal(activeResources(), baseline, `${what} left behind`)
}

/** A counting generator: how many items were pulled, and whether its `finally` ran. */
export function counting(limit = Infinity): { source: AsyncGenerator<number>; pulled: () => number; closed: Promise<void> } {
  let pulled = 0
  const closed = deferred()
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < limit; i++) {
        pulled++
        yield i
      }
    } finally {
      closed.resolve()
    }
  }
  return { source: source(), pulled: () => pulled, closed: closed.promise }
}
