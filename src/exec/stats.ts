import type { StageReport } from '../result/report.js'

/** What a stage's report reads of its limiter (see exec/engine/limiter.ts). */
interface LimitSource {
  readonly limit?: number
}

/** Any fraction: the first value of a field that holds fractional ms (see StageStats). */
export const AS_DOUBLE = 0.5

/** Report times are rounded to 0.1 ms: the clock's noise is larger than that, and `12.3` reads better than `12.299999999813735`. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10
}

/** Mutable counters behind a StageReport. */
export class StageStats {
  processed = 0
  failed = 0
  /** Items its handlers dropped by returning `skip`. */
  skipped = 0
  retried = 0
  cancelled = 0
  discarded = 0
  // Fractional ms, so each starts as a fraction and is set to 0 in the constructor: a field first
  // stored as an integer changes the object's hidden class at the first clock reading, and once a
  // full GC has dropped the class it changed to, the code compiled for it deoptimises run after run.
  busyMs = AS_DOUBLE
  inFlight = 0
  startedAt = AS_DOUBLE
  endedAt = AS_DOUBLE
  /** How many workers share `busyMs` (0: not known); it never exceeds `durationMs` × workers. */
  workers = 0
  /** The configured concurrency (`StageReport.concurrency` unless a limiter tells its own limit). */
  concurrency = 1
  limiter: LimitSource | undefined = undefined

  constructor(readonly name: string) {
    this.busyMs = 0
    this.startedAt = 0
    this.endedAt = 0
  }

  snapshot(now: number): StageReport {
    const end = this.endedAt || now
    const durationMs = this.startedAt ? roundMs(Math.max(0, end - this.startedAt)) : 0
    const busyMs = roundMs(this.busyMs)
    return {
      name: this.name,
      processed: this.processed,
      failed: this.failed,
      skipped: this.skipped,
      retried: this.retried,
      cancelled: this.cancelled,
      discarded: this.discarded,
      durationMs,
      // Sampled timing is an estimate: keep it within what the workers could have done.
      busyMs: this.workers > 0 ? Math.min(busyMs, roundMs(durationMs * this.workers)) : busyMs,
      inFlight: this.inFlight,
      concurrency: this.limiter?.limit ?? this.concurrency,
    }
  }
}
