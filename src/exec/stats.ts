import type { StageReport } from '../result/report.js'

/** Mutable counters behind a StageReport. */
export class StageStats {
  processed = 0
  failed = 0
  retried = 0
  cancelled = 0
  discarded = 0
  busyMs = 0
  inFlight = 0
  startedAt = 0
  endedAt = 0
  /** How many workers share `busyMs` (0: not known); it never exceeds `durationMs` × workers. */
  workers = 0

  constructor(readonly name: string) {}

  snapshot(now: number): StageReport {
    const end = this.endedAt || now
    const durationMs = this.startedAt ? Math.max(0, end - this.startedAt) : 0
    return {
      name: this.name,
      processed: this.processed,
      failed: this.failed,
      retried: this.retried,
      cancelled: this.cancelled,
      discarded: this.discarded,
      durationMs,
      // Sampled timing is an estimate: keep it within what the workers could have done.
      busyMs: this.workers > 0 ? Math.min(this.busyMs, durationMs * this.workers) : this.busyMs,
      inFlight: this.inFlight,
    }
  }
}
