import { TimeoutError } from '../../result/stage-error.js'
import type { StageStats } from '../stats.js'

/**
 * A start held by a limiter: a runner's attempt waiting for admission. The
 * limiter calls `admit()` once when the attempt may start. Runners reuse one
 * ticket per item (an in-process Worker is its own ticket), so a limiter must
 * not keep a ticket after admitting or cancelling it.
 */
export interface AdmissionTicket {
  admit(): void
}

/** How an admitted attempt ended (see `Limiter.release`). */
export const ATTEMPT_FAILED = 0
export const ATTEMPT_OK = 1
export const ATTEMPT_TIMEOUT = 2
/** Abandoned: its stage stopped (cancel, kill, a consumer that broke out) while it ran. */
export const ATTEMPT_CANCELLED = 3

/**
 * Admits the attempts of one stage (one limiter per stage instance, made when
 * the stage starts). Every attempt that is about to call a handler asks first:
 * a first attempt, an in-place retry (`retries`), and a replay from a
 * downstream `retry`, in every runner (in-process worker, thread, fork branch,
 * and any runner that uses the attempt core). The item waits inside its runner,
 * so a limiter never makes a stage hold more items than its bounds allow.
 *
 * The per-attempt calls must not allocate: `acquire` either admits at once
 * (returns true) or parks the ticket and returns false, then calls
 * `ticket.admit()` later. A parked ticket whose stage stops is withdrawn with
 * `cancel` (the stage then ends without waiting for the limiter). Each
 * admitted attempt is reported once to `release`, with its outcome, its
 * latency (admission to outcome) and, for a failure, its error (read an
 * HTTP `retryAfterMs` there).
 *
 * @example
 * ```ts
 * import type { AdmissionTicket, Limiter } from '../src/exec/engine/limiter.js'
 * // At most `k` attempts at once (a fixed concurrency limit, as a limiter).
 * function atMost(k: number): Limiter {
 *   let running = 0
 *   const parked: AdmissionTicket[] = []
 *   return {
 *     acquire: (t: AdmissionTicket) => (running < k ? (running++, true) : (parked.push(t), false)),
 *     cancel: (t: AdmissionTicket) => void parked.splice(parked.indexOf(t) >>> 0, 1),
 *     release() {
 *       const next = parked.shift()
 *       if (next) next.admit()
 *       else running--
 *     },
 *   }
 * }
 * ```
 */
export interface Limiter {
  /** True: start now. False: the ticket is parked, and `ticket.admit()` comes later (unless it is cancelled). */
  acquire(ticket: AdmissionTicket): boolean
  /** A parked ticket is withdrawn (its stage stopped): never admit it. */
  cancel(ticket: AdmissionTicket): void
  /** An admitted attempt ended: `outcome` is one of ATTEMPT_OK/FAILED/TIMEOUT/CANCELLED; `error` is set for a failure or timeout. */
  release(ticket: AdmissionTicket, outcome: number, latencyMs: number, error: unknown): void
  /** The limit it applies now (how many attempts may run at once), shown as `StageReport.concurrency`; unset: the stage's configured concurrency. */
  readonly limit?: number
  /** The stage is done with it: ended or stopped, and no replay for a downstream `retry` can come any more. Clear its timers. */
  close?(): void
}

/** What a stage tells the factory of its limiter. */
export interface LimiterStage {
  readonly name: string
  /** The stage's configured concurrency (its runner count bound; `Infinity`: none). */
  readonly slots: number
  readonly stats: StageStats
  /** Aborted when the stage stops. */
  readonly signal: AbortSignal
}

/** Makes a stage instance's limiter (internal option; `pool`'s public options build one). */
export type LimiterFactory = (stage: LimiterStage) => Limiter

/**
 * The internal option of `pool`, `mix` and `fork` that attaches a limiter:
 * `pool(fn, { concurrency: 8, [kLimiter]: (stage) => myLimiter })`.
 */
export const kLimiter: unique symbol = Symbol('pipevine.limiter')

/** The stage's limiter, made from its spec's factory (if any); the stage's report shows its limit, else `slots`. */
export function stageLimiter(create: LimiterFactory | undefined, stage: LimiterStage): Limiter | undefined {
  stage.stats.concurrency = stage.slots
  const limiter = create?.(stage)
  stage.stats.limiter = limiter
  return limiter
}

/** Closes a stage's limiter (see `Limiter.close`); true, for the stage's "closed" flag. */
export function closeLimiter(limiter: Limiter | undefined): true {
  limiter?.close?.()
  return true
}

/** A limiter's state of a ticket, kept by its runner: not asked, parked, or admitted (and when). */
export const TICKET_IDLE = 0
export const TICKET_PARKED = 1
export const TICKET_RUNNING = 2

/** The fields a runner keeps per ticket (the ticket itself, for an in-process Worker). */
export interface TicketState {
  admission: number
  admittedAt: number
}

/** Asks for a start: true when the attempt may start now (always without a limiter). */
export function admitted(limiter: Limiter | undefined, ticket: AdmissionTicket & TicketState): boolean {
  if (limiter === undefined) return true
  ticket.admission = TICKET_PARKED
  if (!limiter.acquire(ticket)) return false
  startTicket(ticket)
  return true
}

/** The limiter admitted a parked ticket: whether it is still wanted (not cancelled meanwhile). */
export function startTicket(ticket: TicketState): boolean {
  if (ticket.admission !== TICKET_PARKED) return false
  ticket.admission = TICKET_RUNNING
  ticket.admittedAt = performance.now()
  return true
}

/**
 * The limiter admits a parked ticket: true when its attempt may start now. A
 * ticket no longer wanted (cancelled meanwhile) is ignored; one whose runner or
 * stage stopped (`stopped`: a release during the stop can admit it before the
 * stage retires its runner) is released at once as cancelled, so every
 * admission the limiter counted is reported exactly once.
 */
export function admitParked(limiter: Limiter | undefined, ticket: AdmissionTicket & TicketState, stopped: boolean): boolean {
  if (!startTicket(ticket)) return false
  if (!stopped) return true
  ticketAbandoned(limiter, ticket)
  return false
}

/** An admitted attempt ended with `ok`/`value` (the error when it failed). */
export function ticketEnded(limiter: Limiter | undefined, ticket: AdmissionTicket & TicketState, ok: boolean, value: unknown): void {
  if (limiter === undefined || ticket.admission !== TICKET_RUNNING) return
  ticket.admission = TICKET_IDLE
  const outcome = ok ? ATTEMPT_OK : value instanceof TimeoutError ? ATTEMPT_TIMEOUT : ATTEMPT_FAILED
  limiter.release(ticket, outcome, performance.now() - ticket.admittedAt, ok ? undefined : value)
}

/** The runner gives the attempt up (its stage stopped, or the run was killed): withdraw or release the ticket. */
export function ticketAbandoned(limiter: Limiter | undefined, ticket: AdmissionTicket & TicketState): void {
  if (limiter === undefined) return
  const state = ticket.admission
  ticket.admission = TICKET_IDLE
  if (state === TICKET_PARKED) limiter.cancel(ticket)
  else if (state === TICKET_RUNNING) limiter.release(ticket, ATTEMPT_CANCELLED, performance.now() - ticket.admittedAt, undefined)
}
