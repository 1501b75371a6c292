// CPU fan-out with worker threads.
//
// Counting primes is pure CPU work: on the main thread it would block the event
// loop (no timers, no I/O) until it was done. `thread(url)` runs a module's
// export in worker_threads instead; `pool(…, 2)` starts two threads, each
// loading the module once, and hands each a range at a time. Results come back
// as `Either`s like any other stage's.
//
// The second stage shows `thread(fn)`: a self-contained function whose source
// is sent to the threads (it may not use variables from around it).
//
// Run it: node --import tsx examples/cpu-fanout.ts
import { fileURLToPath } from 'node:url'
import { collect, isLeft, pipe, pool, thread } from '../src/index.js'
import type countPrimes from './cpu/primes.js'
import type { Range } from './cpu/primes.js'

/** [0, limit) cut into `parts` ranges. */
function ranges(limit: number, parts: number): Range[] {
  const size = Math.ceil(limit / parts)
  return Array.from({ length: parts }, (_, i) => ({ from: i * size, to: Math.min(limit, (i + 1) * size) }))
}

/** Collatz steps from n down to 1: a small CPU job, written as a self-contained function. */
function collatzSteps(n: number): number {
  let steps = 0
  while (n !== 1) {
    n = n % 2 === 0 ? n / 2 : 3 * n + 1
    steps++
  }
  return steps
}

export async function main(limit = 10_000_000, parts = 20): Promise<{ primes: number; ranges: number; longestCollatz: { n: number; steps: number }; eventLoopTicks: number }> {
  // While the threads work, the main thread's event loop stays free: count its ticks.
  let eventLoopTicks = 0
  const ticker = setInterval(() => eventLoopTicks++, 5)
  try {
    // Stage 1: a module in two threads. The type parameter gives the stage the export's types.
    const counted = await collect(pipe(ranges(limit, parts), pool(thread<typeof countPrimes>(new URL('./cpu/primes.ts', import.meta.url)), 2)))
    if (isLeft(counted)) throw counted.left
    if (counted.right.errors.length > 0) throw counted.right.errors[0]
    const primes = counted.right.values.reduce((a, b) => a + b, 0)

    // Stage 2: a function's source sent to two threads; small items travel in batches.
    const numbers = Array.from({ length: 20_000 }, (_, i) => i + 1)
    const steps = await collect(pipe(numbers, pool(thread(collatzSteps), { concurrency: 2, ordered: true })))
    if (isLeft(steps)) throw steps.left
    let longest = { n: 1, steps: 0 }
    steps.right.values.forEach((s, i) => {
      if (s > longest.steps) longest = { n: numbers[i]!, steps: s }
    })
    return { primes, ranges: parts, longestCollatz: longest, eventLoopTicks }
  } finally {
    clearInterval(ticker)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  const r = await main()
  console.log(`${r.primes} primes below 10,000,000, counted in ${r.ranges} ranges on 2 threads`)
  console.log(`longest Collatz chain below 20,000: ${r.longestCollatz.n} (${r.longestCollatz.steps} steps)`)
  console.log(`took ${Math.round(performance.now() - started)} ms; the main thread's event loop ticked ${r.eventLoopTicks} times meanwhile`)
}
