import { ATTEMPT_CANCELLED, ATTEMPT_OK, ATTEMPT_TIMEOUT, type AdmissionTicket, type Limiter, type LimiterFactory, type LimiterStage } from '../limiter.js'
import { Queue } from '../queue.js'
import type { WorkerConfig } from '../runner.js'
import { AdaptiveLimit, type AdaptiveBounds } from './adaptive.js'
import { TokenBucket } from './token-bucket.js'
import { isOverload, retryAfterMsOf } from './signals.js'

/** A stage's limits, as its options give them (see combinators/stage-options.ts). */
export interface StageLimits {
  /** Adaptive concurrency (undefined: the stage's fixed concurrency bounds it). */
  readonly adaptive: AdaptiveBounds | undefined
  readonly rate: { readonly perSecond: number; readonly burst: number } | undefined
}

/**
 * The limiter behind `concurrency: { min, max }`, `rate` and `retryAfterMs`:
 * an attempt starts when fewer than the limit run, the stage is not paused by a
 * `retryAfterMs`, and the bucket has a token. Others wait in arrival order; a
 * release or the one wake-up timer (pause end, next token) lets them in.
 *
 * The attempt path allocates nothing: parked tickets sit in a ring buffer, the
 * clock is read as numbers, and the wake-up timer is refreshed, not remade,
 * when its delay repeats (a steady rate).
 */
export class StageGate implements Limiter {
  private running = 0
  private pausedUntil = 0
  private readonly parked = new Queue<AdmissionTicket>(8)
  private readonly adaptive: AdaptiveLimit | undefined
  private readonly bucket: TokenBucket | undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private timerMs = -1
  private timerArmed = false
  private draining = false
  private closed = false
  private readonly wake: () => void

  constructor(
    limits: StageLimits,
    private readonly stage: LimiterStage,
  ) {
    this.adaptive = limits.adaptive === undefined ? undefined : new AdaptiveLimit(limits.adaptive)
    this.bucket = limits.rate === undefined ? undefined : new TokenBucket(limits.rate.perSecond, limits.rate.burst)
    this.wake = this.woken.bind(this)
  }

  /** The limit in effect (the adaptive one found, else the stage's fixed concurrency). */
  get limit(): number {
    return this.adaptive === undefined ? this.stage.slots : this.adaptive.limit
  }

  acquire(ticket: AdmissionTicket): boolean {
    if (this.parked.length === 0 && this.mayStart()) return true
    this.parked.push(ticket)
    this.armTimer()
    return false
  }

  cancel(ticket: AdmissionTicket): void {
    const parked = this.parked
    for (let i = 0; i < parked.length; i++) {
      if (parked.at(i) === ticket) {
        parked.removeAt(i)
        // Nobody waits any more (the stage stopped): a pending pause or token timer must not keep the process alive.
        if (parked.length === 0) this.clearTimer()
        return
      }
    }
  }

  release(_ticket: AdmissionTicket, outcome: number, latencyMs: number, error: unknown): void {
    this.running--
    const adaptive = this.adaptive
    if (outcome !== ATTEMPT_OK && outcome !== ATTEMPT_CANCELLED) {
      const pauseMs = retryAfterMsOf(error)
      if (pauseMs > 0) this.pause(pauseMs)
      if (adaptive !== undefined && (outcome === ATTEMPT_TIMEOUT || isOverload(error))) adaptive.overloaded()
    }
    if (adaptive !== undefined) {
      const now = performance.now()
      if (outcome === ATTEMPT_OK) adaptive.succeeded(latencyMs, now)
      adaptive.settle(now)
    }
    // (An attempt admitted here while its stage stops is not started: every runner's admit checks the stop.)
    if (this.parked.length > 0 && !this.timerArmed) this.drain()
    // (With the wake-up timer armed, time (a token, a pause) is what parked attempts wait for, not a
    // running slot: the timer lets them in as a group, so their handlers' own timers fire together
    // rather than one event-loop wake-up per attempt, as letting each in here as a token trickles in would.)
  }

  /** A handler asked for `ms` without new starts (an error's `retryAfterMs`). */
  pause(ms: number): void {
    const until = performance.now() + ms
    if (until <= this.pausedUntil) return
    this.pausedUntil = until
    // An armed token timer may fire before the pause ends: it then re-arms for the rest.
  }

  /** Admits an attempt now if every limit allows (and counts it). The clock is read only when a limit needs it. */
  private mayStart(): boolean {
    const adaptive = this.adaptive
    if (adaptive !== undefined && this.running >= adaptive.current) return false
    const now = this.pausedUntil !== 0 || this.bucket !== undefined || adaptive !== undefined ? performance.now() : 0
    if (now < this.pausedUntil) return false
    if (this.bucket !== undefined && !this.bucket.take(now, this.parked.length > 0)) return false
    this.running++
    if (adaptive !== undefined) adaptive.admitted(this.running, now)
    return true
  }

  /** Lets parked attempts in while the limits allow (a start that settles at once releases here again: one loop). */
  private drain(): void {
    if (this.draining) return
    this.draining = true
    const parked = this.parked
    while (parked.length > 0 && this.mayStart()) parked.shift().admit()
    this.draining = false
    if (parked.length > 0) this.armTimer()
  }

  /** Parked attempts wait for time (a pause or a token), not for a release: wake them when it comes. */
  private armTimer(): void {
    if (this.timerArmed || this.closed) return
    // Only a release can help (the limit is reached, so an attempt runs): no timer.
    if (this.adaptive !== undefined && this.running >= this.adaptive.current) return
    const now = performance.now()
    let ms = this.pausedUntil - now
    if (this.bucket !== undefined) ms = Math.max(ms, this.bucket.waitMs(now))
    // A token may have come in since the caller looked (the clock moved on): then wake at once, never not at all.
    ms = Math.max(1, Math.ceil(ms))
    this.timerArmed = true
    if (this.timer !== undefined && ms === this.timerMs) this.timer.refresh()
    else {
      if (this.timer !== undefined) clearTimeout(this.timer)
      if (!timerShapesKept) keepTimerShapes()
      this.timer = setTimeout(this.wake, ms)
      this.timerMs = ms
    }
  }

  private woken(): void {
    this.timerArmed = false
    this.drain()
  }

  private clearTimer(): void {
    this.timerArmed = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  close(): void {
    this.closed = true
    this.clearTimer()
  }
}

let timerShapesKept = false

/**
 * One idle, unref'd interval kept for the life of the process, from the first
 * time a limiter waits for a token or a pause (so not in a process that never
 * rate-limits: the shape anchor's limited stage has its tokens at hand). The
 * limiter's admission path (acquire, and the workers' admit and start that
 * inline it) has Node's setTimeout compiled in, so its optimised code
 * depends on the hidden classes of Node's Timeout and timer list objects. A full
 * GC that runs while the process has no timer at all (between two runs, say)
 * drops those classes, and V8 throws that code away, and Node's own timer code
 * with it: every run then compiles it all again (measured at 500/s: a few ms of
 * compiler time per run, most of the limited stage's cost per run beyond its
 * items). The interval never keeps the process alive and does nothing when it
 * fires (every 24.8 days).
 */
function keepTimerShapes(): void {
  timerShapesKept = true
  setInterval(() => {}, 0x7fffffff).unref()
}

/** The limiter factory for a stage's limits. */
export function gateFactory(limits: StageLimits): LimiterFactory {
  return (stage) => new StageGate(limits, stage)
}

const NO_LIMITS: StageLimits = { adaptive: undefined, rate: undefined }

/**
 * An attempt failed with `error` on a stage: a stage without a limiter that is
 * asked for a pause (an error's `retryAfterMs`) gets a pause-only StageGate now,
 * so a plain `pool` pauses too, at no cost per item until then. Attempts
 * running already were never admitted by it (their tickets are idle), so their
 * ends are not released to it and its count stays right. A stage with a
 * limiter pauses through its release.
 */
export function pauseStage(config: WorkerConfig, error: unknown): void {
  if (config.limiter !== undefined || config.signal.aborted) return
  const ms = retryAfterMsOf(error)
  if (ms === 0) return
  const { stats, signal } = config
  const gate = new StageGate(NO_LIMITS, { name: stats.name, slots: stats.concurrency, stats, signal })
  config.limiter = gate
  gate.pause(ms)
}
