/**
 * How each peer library runs "a chain of concurrent map stages", written the
 * way that library's documentation does it, plus the hand-written baselines.
 * Every adapter feeds what comes out of the last stage into a Checker.
 */
import { Readable } from 'node:stream'
import { from as ixFrom, of as ixOf } from 'ix/asynciterable'
import { map as ixMap, flatMap as ixFlatMap } from 'ix/asynciterable/operators'
import { map as siMap, parallelMap as siParallelMap, transform as siTransform } from 'streaming-iterables'
import parallel from 'it-parallel'
import itMap from 'it-map'
import { pipe as itPipe } from 'it-pipe'
import { pMapIterable } from 'p-map'
import { from as rxFrom, mergeMap as rxMergeMap, type Observable } from 'rxjs'
import { Effect, Stream } from 'effect'
import { Checker, type Impl } from './harness.js'

export type AsyncFn = (x: number) => Promise<number>

/** One stage: `fn` applied with `concurrency` in flight, keeping source order or not. */
export interface StageSpec {
  fn: AsyncFn
  concurrency: number
  ordered: boolean
}

/** What a peer can't do natively (shown in the table instead of numbers). */
export const NO_ORDERED_CONCURRENCY = 'n/a (no ordered concurrent map)'
export const NO_CONCURRENCY = 'n/a (maps one item at a time)'

const arrays = new Map<number, number[]>()
/** The integers 0..n-1, one shared array per size so every implementation reads the same source. */
export function range(n: number): number[] {
  let items = arrays.get(n)
  if (items === undefined) arrays.set(n, (items = Array.from({ length: n }, (_, i) => i)))
  return items
}

/** Resolves to `x` after a 1 ms timer. */
export function after1ms(x: number): Promise<number> {
  return new Promise((resolve) => setTimeout(resolve, 1, x))
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** `fn` with up to `retries` more attempts, waiting `delayMs` before each (for peers without a retry of their own). */
export function withRetry(fn: AsyncFn, retries: number, delayMs: number): AsyncFn {
  return async (x) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(x)
      } catch (error) {
        if (attempt >= retries) throw error
        await sleep(delayMs)
      }
    }
  }
}

// ---- hand-written baselines -------------------------------------------------

/** A chain of async generators, one per stage (each stage one item at a time). */
export async function asyncGeneratorChain(source: Iterable<number>, fns: AsyncFn[], out: Checker): Promise<void> {
  async function* stage(input: Iterable<number> | AsyncIterable<number>, fn: AsyncFn): AsyncGenerator<number> {
    for await (const x of input) yield await fn(x)
  }
  let flow: Iterable<number> | AsyncIterable<number> = source
  for (const fn of fns) flow = stage(flow, fn)
  for await (const value of flow) out.add(value)
}

/** A plain `for` loop that awaits each step in turn. */
export async function plainLoop(source: Iterable<number>, fns: AsyncFn[], out: Checker): Promise<void> {
  if (fns.length === 3) {
    const [f, g, h] = fns as [AsyncFn, AsyncFn, AsyncFn]
    for (const x of source) out.add(await h(await g(await f(x))))
    return
  }
  for (const x of source) {
    let value = x
    for (const fn of fns) value = await fn(value)
    out.add(value)
  }
}

/** `concurrency` async workers pulling from one shared iterator; results in completion order. */
export async function handPool(source: Iterable<number>, concurrency: number, fn: AsyncFn, out: Checker): Promise<void> {
  const iterator = source[Symbol.iterator]()
  const worker = async (): Promise<void> => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) out.add(await fn(next.value))
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/** A sliding window of `concurrency` promises in source order; results in source order. */
export async function handOrderedPool(source: Iterable<number>, concurrency: number, fn: AsyncFn, out: Checker): Promise<void> {
  const ring = new Array<Promise<number>>(concurrency)
  let head = 0
  let tail = 0
  for (const x of source) {
    if (tail - head === concurrency) out.add(await ring[head++ % concurrency]!)
    ring[tail++ % concurrency] = fn(x)
  }
  while (head < tail) out.add(await ring[head++ % concurrency]!)
}

// ---- peers ------------------------------------------------------------------

/** Runs `stages` over `source` (the `n` integers 0..n-1) into `out`. */
export type Adapter = (source: Iterable<number>, stages: StageSpec[], out: Checker, n: number) => Promise<void>

const ix: Adapter = async (source, stages, out) => {
  let flow = ixFrom(source)
  for (const { fn, concurrency } of stages) {
    flow = concurrency === 1 ? flow.pipe(ixMap((x: number) => fn(x))) : flow.pipe(ixFlatMap(async (x: number) => ixOf(await fn(x)), concurrency))
  }
  for await (const value of flow) out.add(value)
}

const streamingIterables: Adapter = async (source, stages, out) => {
  let flow: AsyncIterable<number> | Iterable<number> = source
  for (const { fn, concurrency, ordered } of stages) {
    flow = concurrency === 1 ? siMap(fn, flow) : ordered ? siParallelMap(concurrency, fn, flow) : siTransform(concurrency, fn, flow)
  }
  for await (const value of flow) out.add(value)
}

const itParallel: Adapter = async (source, stages, out) => {
  const transforms = stages.map(
    ({ fn, concurrency, ordered }) =>
      (input: AsyncIterable<number> | Iterable<number>) =>
        parallel(
          (async function* () {
            for await (const x of input) yield () => fn(x)
          })(),
          { concurrency, ordered },
        ),
  )
  const flow = (itPipe as unknown as (...steps: unknown[]) => AsyncIterable<number>)(source, ...transforms)
  for await (const value of flow) out.add(value)
}

const itPipeMap: Adapter = async (source, stages, out) => {
  const transforms = stages.map(({ fn }) => (input: AsyncIterable<number> | Iterable<number>) => itMap(input, fn))
  const flow = (itPipe as unknown as (...steps: unknown[]) => AsyncIterable<number>)(source, ...transforms)
  for await (const value of flow) out.add(value)
}

const pMap: Adapter = async (source, stages, out) => {
  let flow: AsyncIterable<number> | Iterable<number> = source
  for (const { fn, concurrency, ordered } of stages) flow = pMapIterable(flow, fn, { concurrency, preserveOrder: ordered })
  for await (const value of flow) out.add(value)
}

const nodeStreams: Adapter = async (source, stages, out) => {
  let flow = Readable.from(source)
  for (const { fn, concurrency } of stages) flow = flow.map(fn, { concurrency })
  for await (const value of flow) out.add(value as number)
}

/** Subscribes and resolves when the observable completes. */
export function drainObservable(observable: Observable<number>, out: Checker): Promise<void> {
  return new Promise((resolve, reject) => {
    observable.subscribe({ next: (value) => out.add(value), error: reject, complete: resolve })
  })
}

const rxjs: Adapter = (source, stages, out) => {
  let flow: Observable<number> = rxFrom(source)
  for (const { fn, concurrency } of stages) flow = flow.pipe(rxMergeMap(fn, concurrency))
  return drainObservable(flow, out)
}

/** Runs an Effect stream, adding each value to `out`. */
export function drainStream<E>(stream: Stream.Stream<number, E>, out: Checker): Promise<void> {
  return Effect.runPromise(Stream.runForEach(stream, (value) => Effect.sync(() => out.add(value))))
}

const effect: Adapter = (source, stages, out) => {
  let stream: Stream.Stream<number> = Stream.fromIterable(source)
  for (const { fn, concurrency, ordered } of stages) {
    const step = (x: number) => Effect.promise(() => fn(x))
    stream = concurrency === 1 ? Stream.mapEffect(stream, step) : Stream.mapEffect(stream, step, { concurrency, unordered: !ordered })
  }
  return drainStream(stream, out)
}

interface PeerDef {
  name: string
  adapter: Adapter
  /** Can keep source order with more than one item in flight. */
  orderedConcurrency: boolean
  /** Has no concurrent map at all (one item at a time per stage). */
  sequentialOnly?: boolean
  note?: string
}

export const PEERS: PeerDef[] = [
  { name: 'ix', adapter: ix, orderedConcurrency: false, note: 'map (concurrency 1) / flatMap(selector, concurrent), which is unordered' },
  { name: 'streaming-iterables', adapter: streamingIterables, orderedConcurrency: true },
  { name: 'it-parallel + it-pipe', adapter: itParallel, orderedConcurrency: true },
  { name: 'it-pipe + it-map', adapter: itPipeMap, orderedConcurrency: false, sequentialOnly: true, note: "it-map per stage in it-pipe, the it-* ecosystem's own map (one item at a time; it-parallel is its concurrent form)" },
  { name: 'p-map', adapter: pMap, orderedConcurrency: true, note: 'pMapIterable (streaming, bounded backpressure)' },
  { name: 'Readable.map', adapter: nodeStreams, orderedConcurrency: true, note: "Node's Readable.from(…).map(fn, { concurrency }), always ordered" },
  { name: 'rxjs', adapter: rxjs, orderedConcurrency: false, note: 'mergeMap(fn, concurrency): unordered, and from(array) pushes without backpressure' },
  { name: 'effect', adapter: effect, orderedConcurrency: true, note: 'Stream.mapEffect(Effect.promise(fn), { concurrency, unordered })' },
]

/**
 * The peers as implementations of a scenario whose stages are `stages` (or
 * `stages(n)`, built afresh for each run). `overrides` replaces a peer's adapter
 * where the scenario has a more native form (rxjs's retry, Effect's
 * Effect.all for a fork, …), or says why the peer can't run it.
 */
export function peerImpls(stages: StageSpec[] | ((n: number) => StageSpec[]), overrides: Partial<Record<string, Adapter | string>> = {}): Impl[] {
  const stagesFor = typeof stages === 'function' ? stages : () => stages
  const needsOrder = stagesFor(0).some((stage) => stage.ordered && stage.concurrency > 1)
  const needsConcurrency = stagesFor(0).some((stage) => stage.concurrency > 1)
  return PEERS.map((peer): Impl => {
    const override = overrides[peer.name]
    const adapter = typeof override === 'function' ? override : peer.adapter
    const impl: Impl = {
      name: peer.name,
      kind: 'peer',
      run: async (n) => {
        const out = new Checker()
        await adapter(range(n), stagesFor(n), out, n)
        return out.result()
      },
    }
    if (typeof override === 'string') impl.unavailable = override
    else if (needsConcurrency && peer.sequentialOnly && typeof override !== 'function') impl.unavailable = NO_CONCURRENCY
    else if (needsOrder && !peer.orderedConcurrency && typeof override !== 'function') impl.unavailable = NO_ORDERED_CONCURRENCY
    return impl
  })
}
