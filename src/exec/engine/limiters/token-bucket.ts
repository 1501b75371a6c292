/**
 * A token bucket: `perSecond` tokens a second, at most `burst` kept. Tokens
 * accrue continuously from the clock (fractions included), so a timer that
 * fires late loses nothing unless the bucket was full, and a rate below one a
 * second (`perSecond: 0.5`) works. Any interval of T seconds sees at most
 * `burst + perSecond × T` starts.
 */
export class TokenBucket {
  private tokens: number
  private last = -1

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst
  }

  private refill(now: number): void {
    if (this.last >= 0) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000)
    this.last = now
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    this.refill(now)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Milliseconds until a token is there (0: now). */
  waitMs(now: number): number {
    this.refill(now)
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.perSecond
  }
}
