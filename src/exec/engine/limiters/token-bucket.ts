/** How late a wake-up timer may fire (ms) without the bucket losing what accrued meanwhile. */
const LATE_MS = 10
/** A wake-up admits what accrues at `perSecond` in this long (within the burst): fewer wake-ups, a start about this much later at most. */
const WAKE_MS = 20

/**
 * A token bucket for `perSecond` starts a second after a burst of `burst`,
 * such that no one-second window sees more than `perSecond + burst` starts.
 *
 * Tokens accrue continuously from the clock (fractions included, so
 * `perSecond: 0.5` works). Node's timers fire a millisecond or more late, and a
 * plain bucket capped at `burst` loses what accrues past the cap meanwhile: at
 * 20,000/s with a burst of 20 that is most of the rate. So while attempts wait,
 * the cap is `burst + slack` (slack: LATE_MS of tokens) and the refill is
 * `perSecond - slack` a second: a late wake-up keeps what accrued, and any
 * second still sees at most (burst + slack) + (perSecond - slack) starts. The
 * long-run rate with work waiting is then perSecond × (1 - LATE_MS / 1000),
 * 99 % of it. With nothing waiting, the cap is `burst`: after a quiet spell at
 * most `burst` start at once.
 */
export class TokenBucket {
  private tokens: number
  private last = -1
  /** Tokens per ms. */
  private readonly refillPerMs: number
  private readonly slack: number
  /** Tokens that accrue in WAKE_MS at the nominal rate: a whole burst at 500/s with a burst of 10. */
  private readonly groupSize: number

  constructor(
    perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst
    this.slack = (perSecond * LATE_MS) / 1000
    this.refillPerMs = (perSecond - this.slack) / 1000
    // From the nominal rate, not the refill: at 500/s (burst 10) the refill less the slack gives 9.9 tokens in
    // WAKE_MS, and groups of 9 take one wake-up (and one of the handlers' own timers) more in ten than a burst's.
    this.groupSize = Math.floor((WAKE_MS * perSecond) / 1000)
  }

  private refill(now: number, waiting: boolean): void {
    if (this.last >= 0) this.tokens = Math.min(waiting ? this.burst + this.slack : this.burst, this.tokens + (now - this.last) * this.refillPerMs)
    this.last = now
  }

  /** Takes a token if there is one (`waiting`: attempts were parked waiting for it). */
  take(now: number, waiting: boolean): boolean {
    this.refill(now, waiting)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Milliseconds until the next wake-up is worth it: a token, or at a high rate the tokens of WAKE_MS (up to a burst). */
  waitMs(now: number): number {
    this.refill(now, true)
    if (this.tokens >= 1) return 0
    // Waking for several tokens at once starts attempts in groups (as the burst allows): one wake-up,
    // and their handlers' own timers, for the group, at most WAKE_MS later. The slack stays free for a late timer.
    const tokens = Math.max(1, Math.min(this.burst, this.groupSize))
    return (tokens - this.tokens) / this.refillPerMs
  }
}
