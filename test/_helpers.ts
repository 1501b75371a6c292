import * as assert from 'uvu/assert'
import type { Either } from 'fp-ts/lib/Either.js'
import type { PipelineError, Report, StageReport, WorkerState } from '../src/index.js'

/*
 * The test helpers, all in one module: reading flows, waiting on events (never a
 * fixed sleep), leak checks, run results, and argument checks.
 */

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

/** Aborts `ac` and waits (at most 2 s) for `pending`: its result, and how many ms after the abort it came. */
export async function abortTimed<T>(ac: AbortController, pending: Promise<T>, what = 'the cancelled run'): Promise<{ result: T; ms: number }> {
  const t0 = performance.now()
  ac.abort()
  const result = await withTimeout(pending, 2_000, what)
  return { result, ms: performance.now() - t0 }
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

// ---- waiting on events ----------------------------------------------------

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

// ---- run results, stages and workers ---------------------------------------

/** The resource baseline, taken after a turn (a file's first test starts inside uvu's own timer callback). */
export async function baseline(): Promise<string[]> {
  await new Promise((resolve) => setImmediate(resolve))
  return activeResources()
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** The Right of a run/collect result, failing the test on a Left. */
export function right<A>(result: Either<PipelineError, A>): A {
  if (result._tag === 'Left') assert.unreachable(`expected a Right, got Left ${result.left.kind}: ${result.left.message}`)
  return (result as { right: A }).right
}

/** The PipelineError of a run/collect result, failing the test on a Right. */
export function leftOf(result: Either<PipelineError, unknown>): PipelineError {
  if (result._tag === 'Right') assert.unreachable('expected a Left, got a Right')
  return (result as { left: PipelineError }).left
}

export function stage(report: Report, name: string): StageReport {
  const found = report.stages.find((s) => s.name === name)
  assert.ok(found, `no stage "${name}" in report: ${report.stages.map((s) => s.name).join(', ')}`)
  return found!
}

/** Resolves after `ms` through a timer that is cleared if `signal` aborts (then rejects with its reason). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Stage options whose async `init` takes 40 ms and opens an interval that only
 * `dispose` clears (a leak check catches a missed dispose), with counts of both.
 */
export function slowInit(concurrency = 2) {
  const started = deferred()
  const counts = { inits: 0, disposes: 0 }
  const options = {
    concurrency,
    init: async () => {
      started.resolve()
      await new Promise((resolve) => setTimeout(resolve, 40))
      counts.inits++
      return { keepAlive: setInterval(() => {}, 1000) }
    },
    dispose: (state: WorkerState) => {
      counts.disposes++
      clearInterval(state.get('keepAlive') as ReturnType<typeof setInterval>)
    },
  }
  return { options, counts, started: started.promise }
}

/** A stage output narrowed to its `Left` (an `isLeft` whose `left` the test reads freely). */
export const isL = (e: Either<unknown, unknown>): e is { _tag: 'Left'; left: any } => e._tag === 'Left'

/** An async generator that yields 0 … limit-1, and whether its `finally` ran (the source was closed). */
export function closingSource(limit: number): { gen: AsyncGenerator<number>; closed: Promise<void> } {
  const closed = deferred()
  async function* gen(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < limit; i++) yield i
    } finally {
      closed.resolve()
    }
  }
  return { gen: gen(), closed: closed.promise }
}

/** Records the delay of every `setTimeout` call until `restore()` (the timers still run as asked). */
export function recordTimeouts(): { requested: number[]; restore(): void } {
  const requested: number[] = []
  const realSetTimeout = globalThis.setTimeout
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    requested.push(ms ?? 0)
    return realSetTimeout(() => fn(...args), ms)
  }) as typeof setTimeout
  return { requested, restore: () => void (globalThis.setTimeout = realSetTimeout) }
}
