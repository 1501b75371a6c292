/**
 * An in-process simulated service for the adaptive-concurrency tests, the
 * `adaptive` bench scenario and bench/adaptive-plot.ts: it serves `capacity`
 * calls at once, each taking `latencyMs`; calls beyond `capacity` queue (first
 * come, first served), and calls beyond 3 × capacity in all are refused at once
 * with an error `{ status: 503 }` (with `retryAfterMs` when asked to).
 * `capacity` can change mid-run (`server.capacity = 8`).
 */
export class SimServer {
  /** Calls being served. */
  active = 0
  /** Calls waiting for a place (their resolvers, in order). */
  private readonly queue: (() => void)[] = []
  calls = 0
  refused = 0
  /** Most calls in the server at once (served + queued). */
  peak = 0

  constructor(
    public capacity: number,
    readonly latencyMs = 4,
    /** When set, a refusal carries `retryAfterMs` of this many ms. */
    readonly retryAfterMs = 0,
  ) {}

  get inside(): number {
    return this.active + this.queue.length
  }

  /** One call: resolves with `value` after its latency, or rejects with a 503 when full. */
  async call<T>(value: T): Promise<T> {
    this.calls++
    if (this.inside >= 3 * this.capacity) {
      this.refused++
      throw Object.assign(new Error('503 Service Unavailable'), this.retryAfterMs > 0 ? { status: 503, retryAfterMs: this.retryAfterMs } : { status: 503 })
    }
    if (this.active >= this.capacity) await new Promise<void>((resolve) => this.queue.push(resolve))
    else this.active++
    if (this.inside > this.peak) this.peak = this.inside
    try {
      await new Promise((resolve) => setTimeout(resolve, this.latencyMs))
      return value
    } finally {
      this.leave()
    }
  }

  /** A served call left: the next queued one takes its place, unless capacity shrank meanwhile. */
  private leave(): void {
    if (this.queue.length > 0 && this.active <= this.capacity) this.queue.shift()!()
    else this.active--
  }
}
