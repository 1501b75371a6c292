/**
 * The overhead scenario measured the way a user's own comparison meets it (issue
 * 12, point 5): many implementations in one process, every one read by the same
 * plain `for await` loop, from the source a program would have. `npm run bench`
 * gives each implementation its own consumer loop and an array source; this
 * shows whether pipevine's lead holds without that.
 *
 *   node --expose-gc --import tsx bench/user-harness.ts [--source=array|sync|async] [--stages=3] [--items=200000] [--rounds=9] [--gc] [--pipevine=dist/esm/index.js]
 *
 * pipevine is loaded from the built bundle by default (what users run); build first.
 * Prints µs per item per stage (fastest and median run) and the speed ratio to
 * the async generator chain and to it-pipe + it-map, from the fastest runs.
 */
import { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import { from as ixFrom } from 'ix/asynciterable'
import { map as ixMap } from 'ix/asynciterable/operators'
import { map as siMap } from 'streaming-iterables'
import { pipe as itPipe } from 'it-pipe'
import itMap from 'it-map'
import { pMapIterable } from 'p-map'

type Fn = (x: number) => Promise<number>
type Flow = AsyncIterable<number> | AsyncIterable<unknown>

const args = process.argv.slice(2)
const flag = (name: string, fallback: string): string => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback
const SOURCE = flag('source', 'array')
const STAGES = Number(flag('stages', '3'))
const ITEMS = Number(flag('items', '200000'))
const ROUNDS = Number(flag('rounds', '9'))
const GC = args.includes('--gc')
const PIPEVINE = resolve(flag('pipevine', 'dist/esm/index.js'))

interface Pipevine {
  pipe(source: unknown, ...operators: unknown[]): AsyncIterable<unknown>
  pool(fn: Fn): unknown
  values(): unknown
}
const pv = (await import(pathToFileURL(PIPEVINE).href)) as Pipevine

const array = Array.from({ length: ITEMS }, (_, i) => i)
function* syncRange(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i
}
async function* asyncRange(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i
}
const source = (): Iterable<number> | AsyncIterable<number> => (SOURCE === 'async' ? asyncRange(ITEMS) : SOURCE === 'sync' ? syncRange(ITEMS) : array)
// Shared by every implementation, as a program's one handler would be.
const fns: Fn[] = Array.from({ length: STAGES }, () => async (x: number) => x + 1)

async function* generatorStage(input: Iterable<number> | AsyncIterable<number>, fn: Fn): AsyncGenerator<number> {
  for await (const x of input) yield await fn(x)
}

const implementations: Record<string, () => Flow> = {
  'async generator chain': () => fns.reduce<Iterable<number> | AsyncIterable<number>>((flow, fn) => generatorStage(flow, fn), source()) as AsyncIterable<number>,
  'it-pipe + it-map': () => (itPipe as unknown as (...steps: unknown[]) => Flow)(source(), ...fns.map((fn) => (input: Iterable<number> | AsyncIterable<number>) => itMap(input, fn))),
  'streaming-iterables': () => fns.reduce<Iterable<number> | AsyncIterable<number>>((flow, fn) => siMap(fn, flow), source()) as AsyncIterable<number>,
  ix: () => fns.reduce((flow, fn) => flow.pipe(ixMap((x: number) => fn(x))), ixFrom(source())),
  'p-map': () => fns.reduce<Iterable<number> | AsyncIterable<number>>((flow, fn) => pMapIterable(flow, fn, { concurrency: 1 }), source()) as AsyncIterable<number>,
  'Readable.map': () => fns.reduce((flow, fn) => flow.map(fn), Readable.from(source())),
  pipevine: () => pv.pipe(source(), ...fns.map((fn) => pv.pool(fn)), pv.values()),
  'pipevine (Eithers)': () => pv.pipe(source(), ...fns.map((fn) => pv.pool(fn))),
}

/** The one consumer every implementation is read by. */
async function consume(flow: Flow): Promise<number> {
  let sum = 0
  for await (const value of flow) sum += typeof value === 'number' ? value : (value as { right: number }).right
  return sum
}

const names = Object.keys(implementations)
const times = new Map<string, number[]>(names.map((name) => [name, []]))
const expected = (ITEMS * (ITEMS - 1)) / 2 + ITEMS * STAGES
for (let round = 0; round <= ROUNDS; round++) {
  const shift = round % names.length
  const order = [...names.slice(shift), ...names.slice(0, shift)]
  if (round % 2 === 1) order.reverse()
  for (const name of order) {
    if (GC) (globalThis as { gc?: () => void }).gc?.()
    const started = performance.now()
    const sum = await consume(implementations[name]!())
    const ms = performance.now() - started
    if (sum !== expected) throw new Error(`${name}: wrong sum ${sum}`)
    // Round 0 warms up.
    if (round > 0) times.get(name)!.push(ms)
  }
}

const perStage = (ms: number): number => (ms * 1000) / ITEMS / STAGES
const best = (name: string): number => Math.min(...times.get(name)!)
const median = (name: string): number => [...times.get(name)!].sort((a, b) => a - b)[times.get(name)!.length >> 1]!
console.log(`${STAGES} stages of \`async x => x + 1\`, ${ITEMS.toLocaleString('en-US')} items from ${SOURCE === 'async' ? 'an async generator' : SOURCE === 'sync' ? 'a generator' : 'an array'}, ${ROUNDS} rounds${GC ? ', GC before each run' : ''}; pipevine from ${PIPEVINE}`)
console.log('| implementation | µs per item per stage (fastest) | (median) | × async generator chain | × it-pipe + it-map |')
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const name of names) {
  const ratio = (other: string): string => `${(best(other) / best(name)).toFixed(2)}×`
  console.log(`| ${name} | ${perStage(best(name)).toFixed(3)} | ${perStage(median(name)).toFixed(3)} | ${ratio('async generator chain')} | ${ratio('it-pipe + it-map')} |`)
}
