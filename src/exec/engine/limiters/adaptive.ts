/*
 * The adaptive concurrency limit: a latency-gradient controller with a
 * tolerance band, drops handled AIMD-style, and a short, gentle baseline probe.
 *
 * Attempts are sampled in windows (at least WINDOW_MIN_MS and 4 × the baseline
 * latency, and MIN_SAMPLES outcomes); the limit changes only when a window ends:
 * - overload (a timeout, a `retryAfterMs`, a 429/503) in the window: the limit
 *   shrinks by the share of overloaded attempts, at least 10 % and at most half
 *   (AIMD's multiplicative decrease; a refusal's near-zero latency never counts
 *   as a fast success, the failure of Gradient2 in Netflix/concurrency-limits#176);
 * - otherwise the window's mean latency against the baseline (the best uncongested
 *   latency): within TOLERANCE the limit grows (doubling until the first sign of
 *   congestion, then by √limit), and only when the stage used at least half of it;
 *   between TOLERANCE and CONGESTED it holds; beyond, it shrinks to the share of
 *   the limit the baseline latency implies, at most halving. The band is what keeps
 *   noise from moving the limit (Envoy's 25 % minRTT buffer, envoy#9038) and stops
 *   Gradient2's slow climb under modest overload (concurrency-limits#134).
 * - The baseline is re-measured every PROBE_EVERY windows, and right after the
 *   limit fell by half or more, or sat at `min` for 5 windows (envoy#10647): one
 *   window at half the limit, counting only attempts admitted in it (envoy#11579).
 *   Half, not 1 as Envoy's probe: a probe at 1 refuses or queues most traffic.
 * Everything is numbers on one object: the per-attempt calls allocate nothing.
 */

const WINDOW_MIN_MS = 25
const MIN_SAMPLES = 8
/** Latency within this factor of the baseline is uncongested (noise). */
const TOLERANCE = 1.2
/** Latency beyond this factor of the baseline is congestion: the limit shrinks. */
const CONGESTED = 1.5
/** Latency alone cuts the limit by at most a quarter a window: noisy latency must not collapse it (overload can halve it). */
const MAX_LATENCY_CUT = 0.75
const PROBE_EVERY = 32
/** The baseline rises by this factor a window unless a window is faster (about 10 % a second at 25 ms windows). */
const BASELINE_CREEP = 1.004
const STUCK_AT_MIN_WINDOWS = 5

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
  private latencySum = 0
  private drops = 0
  private maxRunning = 0
  /** The best uncongested mean latency seen (Infinity: none yet). */
  private baseline = Infinity
  private slowStart = true
  private probing = false
  private probeStart = 0
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
    // A probe measures only what it admitted: older attempts ran at the higher limit.
    if (this.probing && now - latencyMs < this.probeStart) return
    this.count++
    this.latencySum += latencyMs
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
    this.count = this.drops = this.latencySum = this.maxRunning = 0
    this.windowStart = now
    this.probeStart = now
    return this.current !== before
  }

  private endWindow(): void {
    let limit = this.limit
    if (this.drops > 0) {
      const share = this.drops / (this.count + this.drops)
      limit = Math.floor(limit * Math.min(0.9, Math.max(0.5, 1 - share)))
      this.slowStart = false
    } else {
      const mean = this.latencySum / this.count
      // The best latency seen, forgotten slowly (a lucky window is not the baseline for ever; probes re-measure it).
      this.baseline = Math.min(mean, this.baseline * BASELINE_CREEP)
      const ratio = mean / this.baseline
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

  /** The probe's window ended: without overload, its mean is the new baseline (fresh, so it may be higher: a slower service). */
  private endProbe(): void {
    this.probing = false
    this.current = this.limit
    if (this.drops === 0 && this.count > 0) this.baseline = this.latencySum / this.count
    else if (this.drops > 0) this.setLimit(Math.floor(this.limit / 2))
  }

  private setLimit(limit: number): void {
    this.limit = this.current = Math.min(this.max, Math.max(this.min, limit))
  }
}
