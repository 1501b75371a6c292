/**
 * What reading a pipeline with `for await` costs beyond the loop's own floor
 * (issue 12, point 5): the bare floors (a `for await` over iterators that do
 * nothing, or one async call per item), the peers at depth 1, and pipevine at
 * depths 1 and 3, read with `for await` and with `run`, in one process, in
 * rotating order, median µs per item; then, for each pair measured at depths 1 and 3,
 * issue 12's flatness ratio beside the least a `for await` read allows (see below).
 *   node --import tsx --expose-gc bench/depth-floor.ts [items] [rounds] [only-regex]
 */
import { pipe as itPipe } from 'it-pipe'
import itMap from 'it-map'
import { pipe, pool, run, values } from '../src/index.js'
import { Checker } from './harness.js'
import { asyncGeneratorChain, range } from './peers.js'

const N = Number(process.argv[2] ?? 100_000)
const ROUNDS = Number(process.argv[3] ?? 15)
const ONLY = process.argv[4] ? new RegExp(process.argv[4]) : undefined
const gc = process.env.NO_GC ? undefined : (globalThis as { gc?: () => void }).gc

const inc = (): ((x: number) => Promise<number>) => async (x: number) => x + 1

/** The floor: an iterator class whose next() returns Promise.resolve of a fresh result. */
class ResolvedIterator implements AsyncIterableIterator<number> {
  private i = 0
  constructor(private readonly items: number[]) {}
  next(): Promise<IteratorResult<number>> {
    if (this.i >= this.items.length) return Promise.resolve({ value: undefined, done: true })
    return Promise.resolve({ value: this.items[this.i++]!, done: false })
  }
  [Symbol.asyncIterator](): this {
    return this
  }
}

/** The same, as an `async next()` returning the result object. */
class AsyncNextIterator implements AsyncIterableIterator<number> {
  private i = 0
  constructor(private readonly items: number[]) {}
  async next(): Promise<IteratorResult<number>> {
    if (this.i >= this.items.length) return { value: undefined, done: true }
    return { value: this.items[this.i++]!, done: false }
  }
  [Symbol.asyncIterator](): this {
    return this
  }
}

/** One async call per item and a result object: what a stage of one `async` handler cannot do without. */
class CallIterator implements AsyncIterableIterator<number> {
  private i = 0
  private readonly wrap = (value: number): IteratorResult<number> => ({ value, done: false })
  constructor(
    private readonly items: number[],
    private readonly fn: (x: number) => Promise<number>,
  ) {}
  next(): Promise<IteratorResult<number>> {
    if (this.i >= this.items.length) return Promise.resolve({ value: undefined, done: true })
    return this.fn(this.items[this.i++]!).then(this.wrap)
  }
  [Symbol.asyncIterator](): this {
    return this
  }
}

/*
 * Each variant has its own consumer loop (as each row of the bench has): one
 * loop shared by every variant would see every iterator class at its call sites
 * and measure a megamorphic `for await` rather than the variant.
 */

function stages(depth: number): ((source: unknown) => unknown)[] {
  return Array.from({ length: depth }, () => pool(inc()) as (source: unknown) => unknown)
}
const pv = (depth: number): AsyncIterable<unknown> => (pipe as (...a: unknown[]) => AsyncIterable<unknown>)(range(N), ...stages(depth))

/*
 * One instance of each floor class kept for the life of the process, as pipevine's
 * stages keep theirs (src/exec/shapes.ts): the GC before each run would otherwise drop
 * their hidden classes and deoptimise the loops that read them, and the floors would
 * measure the re-warm (about 0.04 µs per item at 100k items) rather than the loop.
 */
export const floorAnchors = [new ResolvedIterator([]), new AsyncNextIterator([]), new CallIterator([], inc())]

const itMaps = (depth: number): AsyncIterable<number> =>
  (itPipe as unknown as (...s: unknown[]) => AsyncIterable<number>)(range(N), ...Array.from({ length: depth }, () => (s: Iterable<number>) => itMap(s, inc())))

const variants: Record<string, () => Promise<unknown>> = {
  'floor: Promise.resolve({value, done})': async () => {
    const out = new Checker()
    for await (const value of new ResolvedIterator(range(N))) out.add(value)
  },
  'floor: async next()': async () => {
    const out = new Checker()
    for await (const value of new AsyncNextIterator(range(N))) out.add(value)
  },
  'floor: sync for-of (no await)': async () => {
    const out = new Checker()
    for (const value of range(N)) out.add(value)
  },
  'floor: async call + then(wrap)': async () => {
    const out = new Checker()
    for await (const value of new CallIterator(range(N), inc())) out.add(value)
  },
  'async generators 1': () => asyncGeneratorChain(range(N), [inc()], new Checker()),
  'it-map 1': async () => {
    const out = new Checker()
    for await (const value of itMaps(1)) out.add(value)
  },
  'it-map 3': async () => {
    const out = new Checker()
    for await (const value of itMaps(3)) out.add(value)
  },
  'pipevine for await 1': async () => {
    const out = new Checker()
    for await (const value of pipe(pv(1), values())) out.add(value as number)
  },
  'pipevine for await 3': async () => {
    const out = new Checker()
    for await (const value of pipe(pv(3), values())) out.add(value as number)
  },
  'pipevine run 1': () => run(pv(1)),
  'pipevine run 3': () => run(pv(3)),
}

const names = Object.keys(variants).filter((name) => ONLY === undefined || ONLY.test(name))
const times = new Map<string, number[]>(names.map((name) => [name, []]))
for (const name of names) await variants[name]!() // warm-up
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]!)
  if (round % 2 === 1) order.reverse()
  for (const name of order) {
    gc?.()
    const started = performance.now()
    await variants[name]!()
    times.get(name)!.push(((performance.now() - started) * 1000) / N)
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
for (const name of names) {
  const xs = times.get(name)!
  console.log(`${name.padEnd(40)} ${median(xs).toFixed(3)} µs/item (min ${Math.min(...xs).toFixed(3)})`)
}

/*
 * Issue 12's flatness cell: per stage at depth 1 over per stage at depth 3. Read by
 * `for await`, depth 1 pays the loop's floor f per item on one stage, depth 3 on three.
 * With a 3-stage figure of P µs per stage, of which f / 3 is the loop's, one stage
 * costs at least P - f / 3 and depth 1 at least P + 2f / 3: the least ratio any chain
 * of stages that fast can show is 1 + 2f / 3P (over 1.25 whenever P < 8f / 3).
 */
const floor = times.get('floor: Promise.resolve({value, done})')
for (const name of names) {
  if (!name.endsWith(' 1')) continue
  const three = times.get(`${name.slice(0, -2)} 3`)
  if (three === undefined) continue
  const perStage3 = median(three) / 3
  const least = floor === undefined || / run /.test(name) ? '' : `; least possible with that 3-stage figure: ${(1 + (2 * median(floor)) / (3 * perStage3)).toFixed(2)}`
  console.log(`${name.slice(0, -2).padEnd(40)} depth 1 ÷ 3-stage, per stage: ${(median(times.get(name)!) / perStage3).toFixed(2)}${least}`)
}
