/*
 * The adaptive concurrency limit: a latency-gradient controller with a
 * tolerance band, AIMD on overload, and a short, gentle baseline probe.
 *
 * Attempts are sampled in windows (at least WINDOW_MIN_MS and 4 × the baseline
 * latency, and MIN_SAMPLES outcomes); the limit changes only when a window ends,
 * and a window counts only attempts admitted under the limit in effect:
 * - overload (a timeout, a `retryAfterMs`, a 429/503) in the window: the limit
 *   shrinks by the share of overloaded attempts, at least 10 % and at most half
 *   (AIMD's multiplicative decrease). A refusal's near-zero latency never counts
 *   as a fast success (Gradient2's failure in Netflix/concurrency-limits#176),
 *   and a steady timeout is overload, not a flat latency (#137).
 * - otherwise the window's median latency against the baseline (the best
 *   uncongested median): within TOLERANCE the limit grows (doubling until the
 *   first sign of congestion, then by √limit), and only when the stage used at
 *   least half of it; between TOLERANCE and CONGESTED it holds; beyond, in two
 *   windows running, it shrinks to the share the baseline implies, by at most a
 *   quarter. The band keeps noise from moving the limit (Envoy's 25 % minRTT
 *   buffer, envoy#9038) and stops Gradient2's slow climb under modest overload
 *   (concurrency-limits#134). The median, the two-window rule and the bounded
 *   cut keep a stalled event loop (a GC, a busy machine: every completion late)
 *   from collapsing the limit, the "stuck at a small limit" failure.
 * - The baseline is re-measured every PROBE_EVERY windows, and right after the
 *   limit fell by half or more, or sat at `min` for 5 windows (envoy#10647): one
 *   window at half the limit, counting only attempts admitted in it (envoy#11579).
 *   Half, not 1 as Envoy's probe: a probe at 1 refuses or queues most traffic
 *   (envoy#8337, #9007). A probe lowers the baseline at once and raises it
 *   gradually (one noisy probe must not loosen the limit).
 * Everything is numbers on one object (the window's latencies in a typed array
 * allocated once): the per-attempt calls allocate nothing.
 */

const WINDOW_MIN_MS = 25
const MIN_SAMPLES = 8
/** Latencies kept per window (a power of two). */
const SAMPLE_SLOTS = 64
/** Latency within this factor of the baseline is uncongested (noise). */
const TOLERANCE = 1.2
/** Latency beyond this factor of the baseline is congestion: the limit shrinks. */
const CONGESTED = 1.5
/** Latency alone cuts the limit by at most a quarter a window: noisy latency must not collapse it (overload can halve it). */
const MAX_LATENCY_CUT = 0.75
const PROBE_EVERY = 64
/** The baseline rises by this factor a window unless a window is faster (about 10 % a second at 25 ms windows). */
const BASELINE_CREEP = 1.001
const STUCK_AT_MIN_WINDOWS = 5
/** A probe raises the baseline by at most this factor, and the next probe comes PROBE_AGAIN windows later. */
const PROBE_RISE = 1.25
const PROBE_AGAIN = 8

export interface AdaptiveBounds {
  readonly min: number
  readonly max: number
  readonly initial: number
}

export class AdaptiveLimit {
  /** The limit found (shown in the report); while probing, `current` is lower. */
  limit: number
  /** The limit in effect now. */
  current: number
  /** Completed windows (for tests and plots). */
  windows = 0
  private readonly min: number
  private readonly max: number
  private windowStart = -1
  private count = 0
  /** The window's success latencies (a ring, allocated once). */
  private readonly latencies = new Float64Array(SAMPLE_SLOTS)
  private drops = 0
  private maxRunning = 0
  /** The best uncongested median latency seen (Infinity: none yet). */
  private baseline = Infinity
  private slowStart = true
  private probing = false
  /** When the limit in effect last changed. */
  private changedAt = 0
  private sinceProbe = 0
  /** The limit when the baseline was last measured. */
  private limitAtProbe = 0
  private windowsAtMin = 0
  /** The previous window's latency over the baseline. */
  private lastRatio = 1

  constructor(bounds: AdaptiveBounds) {
    this.min = bounds.min
    this.max = bounds.max
    this.limit = this.current = bounds.initial
    this.limitAtProbe = bounds.initial
  }

  /** An attempt was admitted with `running` attempts now running. */
  admitted(running: number, now: number): void {
    if (this.windowStart < 0) this.windowStart = now
    if (running > this.maxRunning) this.maxRunning = running
  }

  /** An admitted attempt succeeded after `latencyMs` (failures that say nothing about load are not reported). */
  succeeded(latencyMs: number, now: number): void {
    // A window measures only what was admitted under the limit in effect: older attempts ran under
    // another one (for a probe: the higher limit, which would skew its baseline upward, envoy#11579).
    if (now - latencyMs < this.changedAt) return
    this.latencies[this.count++ & (SAMPLE_SLOTS - 1)] = latencyMs
  }

  /** The window's median latency (of its last SAMPLE_SLOTS successes): a stall of this process that delays some completions barely moves it, queueing at the service moves it. */
  private median(): number {
    const latencies = this.latencies
    const n = Math.min(this.count, SAMPLE_SLOTS)
    latencies.fill(Infinity, n)
    latencies.sort()
    return latencies[n >> 1]!
  }

  /** An admitted attempt met overload (a timeout, a retryAfterMs, a 429/503). */
  overloaded(): void {
    this.drops++
  }

  /** Ends the window if it is complete; true when the limit in effect changed. */
  settle(now: number): boolean {
    const total = this.count + this.drops
    if (total === 0 || this.windowStart < 0) return false
    const windowMs = Math.max(WINDOW_MIN_MS, this.baseline === Infinity ? 0 : 4 * this.baseline)
    const elapsed = now - this.windowStart
    if (elapsed < windowMs || (total < MIN_SAMPLES && elapsed < 4 * windowMs)) return false
    const before = this.current
    if (this.probing) this.endProbe()
    else this.endWindow()
    this.windows++
    this.count = this.drops = this.maxRunning = 0
    this.windowStart = now
    if (this.current === before) return false
    this.changedAt = now
    return true
  }

  private endWindow(): void {
    let limit = this.limit
    if (this.drops > 0) {
      const share = this.drops / (this.count + this.drops)
      limit = Math.floor(limit * Math.min(0.9, Math.max(0.5, 1 - share)))
      this.slowStart = false
    } else {
      const typical = this.median()
      // The best latency seen, forgotten slowly (a lucky window is not the baseline for ever; probes re-measure it).
      this.baseline = Math.min(typical, this.baseline * BASELINE_CREEP)
      const ratio = typical / this.baseline
      // Congestion must show in two windows running: one slow window is noise (a GC pause, a busy machine).
      const congested = Math.min(ratio, this.lastRatio)
      this.lastRatio = ratio
      if (ratio <= TOLERANCE) {
        if (2 * this.maxRunning >= limit) limit = this.slowStart ? limit * 2 : limit + Math.max(1, Math.floor(Math.sqrt(limit)))
      } else if (congested > CONGESTED) {
        this.slowStart = false
        limit = Math.max(Math.floor(limit * MAX_LATENCY_CUT), Math.floor(limit / congested) + 1)
      } else if (ratio > CONGESTED) this.slowStart = false
    }
    this.setLimit(limit)
    this.windowsAtMin = this.limit === this.min ? this.windowsAtMin + 1 : 0
    if (++this.sinceProbe >= PROBE_EVERY || 2 * this.limit <= this.limitAtProbe || this.windowsAtMin >= STUCK_AT_MIN_WINDOWS) this.startProbe()
  }

  private startProbe(): void {
    this.probing = true
    this.sinceProbe = 0
    this.windowsAtMin = 0
    this.limitAtProbe = this.limit
    this.current = Math.max(this.min, Math.floor(this.limit / 2))
  }

  /**
   * The probe's window ended. Without overload its median is the baseline: lower at once; higher (a
   * slower service, or a noisy probe) by at most PROBE_RISE, and then probed again soon, so a real
   * change is taken within a few probes and one unlucky probe cannot loosen the limit much.
   */
  private endProbe(): void {
    this.probing = false
    this.current = this.limit
    if (this.drops > 0) return this.setLimit(Math.floor(this.limit / 2))
    if (this.count === 0) return
    const measured = this.median()
    if (measured <= this.baseline) this.baseline = measured
    else {
      this.baseline = Math.min(measured, this.baseline * PROBE_RISE)
      this.sinceProbe = PROBE_EVERY - PROBE_AGAIN
    }
  }

  private setLimit(limit: number): void {
    this.limit = this.current = Math.min(this.max, Math.max(this.min, limit))
  }
}
