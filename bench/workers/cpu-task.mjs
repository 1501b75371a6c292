// The CPU work of the cpu-pool and cpu-small scenarios: a pure-JS integer hash
// chain whose length sets the cost. Plain .mjs so that every worker pool (and
// every thread) loads it without a TypeScript loader.

/** Iterations for a ~5 ms task (cpu-pool) and a ~20 µs task (cpu-small) on the reference machine. */
export const HEAVY_ITERS = 1_400_000
export const LIGHT_ITERS = 5_600

/** A deterministic 32-bit hash of `seed` after `iters` rounds; no allocation, no shortcuts for V8 to take. */
export function cpuWork(seed, iters) {
  let h = (seed ^ 0x9e3779b9) | 0
  for (let i = 0; i < iters; i++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d)
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39)
    h ^= h >>> 15
  }
  return h >>> 0
}

/** ~5 ms of CPU for one number. */
export function heavy(seed) {
  return cpuWork(seed, HEAVY_ITERS)
}

/** ~20 µs of CPU for one number. */
export function light(seed) {
  return cpuWork(seed, LIGHT_ITERS)
}

export default heavy

/** A skewed workload: ~100 µs per number, but every 100th number (1%) is 50× slower (~5 ms). */
export function skewed(seed) {
  return cpuWork(seed, seed % 100 === 99 ? 50 * 5 * LIGHT_ITERS : 5 * LIGHT_ITERS)
}
