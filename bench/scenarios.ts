/**
 * The in-process scenarios of issue 5: overhead, io-pool (unordered and
 * ordered), io-pool-cheap, retry-storm and fork-merge.
 */
import { defer, forkJoin, from as rxFrom, map as rxMap, mergeMap, retry as rxRetry } from 'rxjs'
import { Effect, Schedule, Stream } from 'effect'
import { fork, pipe, pool, retry, values, type Either, type StageError } from '../src/index.js'
import { Checker, checkOf, type Check, type Impl, type Scenario } from './harness.js'
import {
  after1ms,
  asyncGeneratorChain,
  drainObservable,
  drainStream,
  handOrderedPool,
  handPool,
  peerImpls,
  plainLoop,
  range,
  withRetry,
  type AsyncFn,
  type StageSpec,
} from './peers.js'

/**
 * pipevine's row: a plain `for await` over the flow + `values()`, as every peer
 * is drained (a pipeline is just an AsyncIterable).
 */
function pipevineRows(build: (n: number) => AsyncIterable<Either<StageError, number>>): Impl[] {
  return [
    {
      name: 'pipevine',
      kind: 'pipevine',
      run: async (n) => {
        const out = new Checker()
        for await (const value of pipe(build(n), values())) out.add(value)
        return out.result()
      },
    },
  ]
}

function impl(name: string, kind: Impl['kind'], body: (n: number, out: Checker) => Promise<void>): Impl {
  return {
    name,
    kind,
    run: async (n) => {
      const out = new Checker()
      await body(n, out)
      return out.result()
    },
  }
}

// ---- overhead ---------------------------------------------------------------

const inc1: AsyncFn = async (x) => x + 1
const inc2: AsyncFn = async (x) => x + 1
const inc3: AsyncFn = async (x) => x + 1

export const overhead: Scenario = {
  name: 'overhead',
  description: 'three chained `async x => x + 1` stages, concurrency 1, ordered',
  items: 500_000,
  quickItems: 5_000,
  ordered: true,
  baseline: 'async generator chain',
  expected: (n) => checkOf(range(n).map((x) => x + 3)),
  notes: [
    'The plain loop is the physical limit (one await per step, no stage boundaries); the target is ≥ 1.0× the async generator chain, aiming for ≥ 0.5× the loop.',
    "rxjs: `from(array)` pushes every item into the first `mergeMap`'s buffer at once (no backpressure), and its cost per item grows with the size, so its † row on fewer items flatters it.",
  ],
  impls: [
    impl('async generator chain', 'baseline', (n, out) => asyncGeneratorChain(range(n), [inc1, inc2, inc3], out)),
    impl('plain for loop', 'baseline', (n, out) => plainLoop(range(n), [inc1, inc2, inc3], out)),
    ...pipevineRows((n) => pipe(range(n), pool(inc1), pool(inc2), pool(inc3))),
    ...peerImpls([inc1, inc2, inc3].map((fn) => ({ fn, concurrency: 1, ordered: true }))),
  ],
}

// ---- io-pool, io-pool-ordered -----------------------------------------------

const IO_CONCURRENCY = 64

function ioPool(ordered: boolean): Scenario {
  const stages: StageSpec[] = [{ fn: after1ms, concurrency: IO_CONCURRENCY, ordered }]
  return {
    name: ordered ? 'io-pool-ordered' : 'io-pool',
    description: `each item awaits a 1 ms timer, concurrency ${IO_CONCURRENCY}, ${ordered ? 'ordered' : 'unordered'}`,
    items: 40_000,
    quickItems: 1_000,
    ordered,
    baseline: 'hand-written pool',
    ideal: (n) => (n * 1) / IO_CONCURRENCY,
    // Timer-bound: everyone needs more than the ideal (625 ms), so only a peer far off it is scaled down.
    peerCapMs: 1_200,
    expected: (n) => checkOf(range(n)),
    notes: [
      `Ideal = items × 1 ms / ${IO_CONCURRENCY}; a Node 1 ms timer fires after ≥ 1 ms, so 100% is out of reach for everyone.`,
      ordered
        ? 'Hand-written pool: a sliding window of 64 promises awaited in source order.'
        : 'Hand-written pool: 64 async workers pulling from one shared iterator.',
    ],
    impls: [
      impl('hand-written pool', 'baseline', (n, out) => (ordered ? handOrderedPool : handPool)(range(n), IO_CONCURRENCY, after1ms, out)),
      ...pipevineRows((n) => pipe(range(n), pool(after1ms, { concurrency: IO_CONCURRENCY, ordered }))),
      ...peerImpls(stages),
    ],
  }
}

export const ioPoolUnordered = ioPool(false)
export const ioPoolOrdered = ioPool(true)

// ---- io-pool-cheap ----------------------------------------------------------

const CHEAP_CONCURRENCY = 16
const double: AsyncFn = async (x) => x * 2

export const ioPoolCheap: Scenario = {
  name: 'io-pool-cheap',
  description: `\`async x => x * 2\`, concurrency ${CHEAP_CONCURRENCY}, unordered`,
  items: 100_000,
  quickItems: 5_000,
  ordered: false,
  baseline: 'hand-written pool',
  expected: (n) => checkOf(range(n).map((x) => x * 2)),
  notes: ['Hand-written pool: 16 async workers pulling from one shared iterator.'],
  impls: [
    impl('hand-written pool', 'baseline', (n, out) => handPool(range(n), CHEAP_CONCURRENCY, double, out)),
    ...pipevineRows((n) => pipe(range(n), pool(double, CHEAP_CONCURRENCY))),
    ...peerImpls([{ fn: double, concurrency: CHEAP_CONCURRENCY, ordered: false }]),
  ],
}

// ---- retry-storm ------------------------------------------------------------

const STORM_CONCURRENCY = 32
const STORM_RETRIES = 2
const STORM_BACKOFF_MS = 1

/** Whether item `x` fails its first attempt: a fixed 30% of items, spread by a hash. */
export function failsOnce(x: number): boolean {
  return (Math.imul(x ^ 0x5bd1e995, 0x9e3779b1) >>> 0) % 10 < 3
}

/** A fresh flaky handler per run: items picked by `failsOnce` throw on their first attempt, then succeed. */
function flaky(n: number): AsyncFn {
  const attempts = new Uint8Array(n)
  return async (x) => {
    if (failsOnce(x) && attempts[x]++ === 0) throw new Error(`transient failure of ${x}`)
    return x * 2
  }
}

export const retryStorm: Scenario = {
  name: 'retry-storm',
  description: `30% of items fail once then succeed; retry ${STORM_RETRIES} times with ${STORM_BACKOFF_MS} ms backoff, concurrency ${STORM_CONCURRENCY}`,
  items: 20_000,
  quickItems: 1_000,
  ordered: false,
  baseline: 'hand-written pool',
  expected: (n) => checkOf(range(n).map((x) => x * 2)),
  notes: [
    'pipevine: `pool(h, 32)` then `retry({ retries: 2, backoff: () => 1 })` (failed items leave the pool and wait out their backoff in `retry`).',
    'Hand-written pool and peers without a retry of their own: the handler wrapped in a retry loop (`withRetry`), which holds its slot during the backoff; rxjs uses `retry({ count, delay })`, Effect `Effect.retry({ times, schedule })`.',
  ],
  impls: [
    impl('hand-written pool', 'baseline', (n, out) => handPool(range(n), STORM_CONCURRENCY, withRetry(flaky(n), STORM_RETRIES, STORM_BACKOFF_MS), out)),
    ...pipevineRows((n) => pipe(range(n), pool(flaky(n), STORM_CONCURRENCY), retry({ retries: STORM_RETRIES, backoff: () => STORM_BACKOFF_MS }))),
    ...stormPeers(),
  ],
}

function stormPeers(): Impl[] {
  // The handler is built per run (fresh attempt counters), so the stage list is too.
  return peerImpls((n) => [{ fn: withRetry(flaky(n), STORM_RETRIES, STORM_BACKOFF_MS), concurrency: STORM_CONCURRENCY, ordered: false }], {
    rxjs: (source, _stages, out, n) => {
      const fn = flaky(n)
      const flow = rxFrom(source).pipe(mergeMap((x: number) => defer(() => fn(x)).pipe(rxRetry({ count: STORM_RETRIES, delay: STORM_BACKOFF_MS })), STORM_CONCURRENCY))
      return drainObservable(flow, out)
    },
    effect: (source, _stages, out, n) => {
      const fn = flaky(n)
      const schedule = Schedule.spaced(`${STORM_BACKOFF_MS} millis`)
      const stream = Stream.mapEffect(
        Stream.fromIterable(source),
        (x: number) => Effect.tryPromise(() => fn(x)).pipe(Effect.retry({ times: STORM_RETRIES, schedule }), Effect.orDie),
        { concurrency: STORM_CONCURRENCY, unordered: true },
      )
      return drainStream(stream, out)
    },
  })
}

// ---- fork-merge -------------------------------------------------------------

const branchA: AsyncFn = async (x) => x + 1
const branchB: AsyncFn = async (x) => x * 2
const branchC: AsyncFn = async (x) => x * 3
const merge = ([a, b, c]: number[]): number => a! + b! + c!
const forkMerged = (x: number): number => x + 1 + x * 2 + x * 3

export const forkMerge: Scenario = {
  name: 'fork-merge',
  description: 'every item through 3 async branches (`x + 1`, `x * 2`, `x * 3`), merged by summing; one item at a time, ordered',
  items: 100_000,
  quickItems: 5_000,
  ordered: true,
  baseline: 'hand-written loop',
  expected: (n) => checkOf(range(n).map(forkMerged)),
  notes: [
    "pipevine: `fork([a, b, c], merge)` (default concurrency 1). Hand-written loop and peers: a concurrency-1 map stage whose step is `Promise.all([a(x), b(x), c(x)]).then(merge)`; rxjs uses `forkJoin`, Effect `Effect.all(…, { concurrency: 'unbounded' })`.",
  ],
  impls: [
    impl('hand-written loop', 'baseline', async (n, out) => {
      for (const x of range(n)) out.add(merge(await Promise.all([branchA(x), branchB(x), branchC(x)])))
    }),
    ...pipevineRows((n) => pipe(range(n), fork([branchA, branchB, branchC], merge))),
    ...peerImpls([{ fn: (x) => Promise.all([branchA(x), branchB(x), branchC(x)]).then(merge), concurrency: 1, ordered: true }], {
      rxjs: (source, _stages, out) =>
        drainObservable(
          rxFrom(source).pipe(mergeMap((x: number) => forkJoin([branchA(x), branchB(x), branchC(x)]).pipe(rxMap(merge)), 1)),
          out,
        ),
      effect: (source, _stages, out) =>
        drainStream(
          Stream.mapEffect(Stream.fromIterable(source), (x: number) =>
            Effect.all([Effect.promise(() => branchA(x)), Effect.promise(() => branchB(x)), Effect.promise(() => branchC(x))], { concurrency: 'unbounded' }).pipe(
              Effect.map(merge),
            ),
          ),
          out,
        ),
    }),
  ],
}

