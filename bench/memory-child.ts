/**
 * One memory measurement in a process of its own, so each peak is separate:
 * `node --import tsx bench/memory-child.ts <implementation> <items>` runs
 * `items` integers from a generator through three `async x => x + 1` stages
 * with buffers of 16, and prints one JSON line: the output's Check, the time,
 * and the process's peak RSS. It imports nothing but what it runs (the peer
 * libraries of the other scenarios would add ~70 MB to every peak).
 */
import { Readable } from 'node:stream'
import { pMapIterable } from 'p-map'
import { pipe, pool, values } from '../src/index.js'
import { Checker } from './harness.js'

export const MEMORY_IMPLS = ['pipevine', 'async generator chain', 'Readable.map', 'p-map'] as const
export type MemoryImpl = (typeof MEMORY_IMPLS)[number]
const BUFFER = 16

function* count(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i
}
const f = async (x: number): Promise<number> => x + 1
const g = async (x: number): Promise<number> => x + 1
const h = async (x: number): Promise<number> => x + 1

async function* stage(input: Iterable<number> | AsyncIterable<number>, fn: (x: number) => Promise<number>): AsyncGenerator<number> {
  for await (const x of input) yield await fn(x)
}

async function drain(flow: AsyncIterable<number>, out: Checker): Promise<void> {
  for await (const value of flow) out.add(value)
}

const runs: Record<MemoryImpl, (n: number, out: Checker) => Promise<void>> = {
  pipevine: (n, out) => drain(pipe(count(n), pool(f, { buffer: BUFFER }), pool(g, { buffer: BUFFER }), pool(h, { buffer: BUFFER }), values()), out),
  'async generator chain': (n, out) => drain(stage(stage(stage(count(n), f), g), h), out),
  'Readable.map': (n, out) =>
    drain(Readable.from(count(n), { highWaterMark: BUFFER }).map(f).map(g).map(h), out),
  'p-map': (n, out) => {
    const options = { concurrency: 1, backpressure: BUFFER }
    return drain(pMapIterable(pMapIterable(pMapIterable(count(n), f, options), g, options), h, options), out)
  },
}

export interface MemoryResult {
  impl: string
  items: number
  count: number
  sum: number
  hash: number
  ms: number
  startRssMB: number
  peakRssMB: number
}

async function main(): Promise<void> {
  const [impl, items] = process.argv.slice(2)
  const n = Number(items)
  if (!(impl! in runs) || !Number.isInteger(n) || n < 0) throw new Error(`usage: memory-child.ts <${MEMORY_IMPLS.join('|')}> <items>`)
  const startRssMB = process.memoryUsage.rss() / 2 ** 20
  const out = new Checker()
  const started = performance.now()
  await runs[impl as MemoryImpl](n, out)
  const ms = performance.now() - started
  const result: MemoryResult = { impl: impl!, items: n, ...out.result(), ms, startRssMB, peakRssMB: process.resourceUsage().maxRSS / 1024 }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

if (process.argv[1] && import.meta.url === new URL(process.argv[1], 'file://').href) await main()
