// Loaded once in each worker thread by examples/cpu-fanout.ts. Pure CPU work:
// count the primes in [from, to) with a small segmented sieve.

export interface Range {
  from: number
  to: number
}

export default function countPrimes({ from, to }: Range): number {
  const lo = Math.max(2, from)
  if (to <= lo) return 0
  const limit = Math.floor(Math.sqrt(to - 1))
  // Primes up to sqrt(to), then cross their multiples off the segment.
  const small = new Uint8Array(limit + 1)
  const base: number[] = []
  for (let i = 2; i <= limit; i++) {
    if (small[i]) continue
    base.push(i)
    for (let j = i * i; j <= limit; j += i) small[j] = 1
  }
  const segment = new Uint8Array(to - lo)
  for (const p of base) {
    for (let j = Math.max(p * p, Math.ceil(lo / p) * p); j < to; j += p) segment[j - lo] = 1
  }
  let count = 0
  for (let i = 0; i < segment.length; i++) if (!segment[i]) count++
  return count
}
