import type { Context } from './worker-life.js'
import { SEEDED, callDispose, callInit, logInitFailed, retryInPlace, seedState, settleLateInit } from './worker-life.js'
import type { WorkerConfig } from './runner.js'
import { pauseStage } from './limiters/gate.js'
import { TICKET_IDLE, type AdmissionTicket, type TicketState } from './limiter.js'

/*
 * The runner core, written once for every runner (in-process Worker, ThreadRunner,
 * and through them fork's branches; a remote runner would use it too):
 * - RunnerLife: a runner's life around its items: `init` run once (items that
 *   arrive meanwhile wait), a failed `init` that breaks the runner, an `init`
 *   that finishes after the stage stopped, and `dispose` run once, only when an
 *   `init` it pairs with succeeded;
 * - the per-item attempt bookkeeping (AttemptRecord): attempt numbers, the
 *   last attempt allowed, every attempt's error, and the retry-in-place decision.
 * Admission by the stage's limiter is in limiter.ts (admitted/ticketEnded/ticketAbandoned).
 */

/** What a runner's life hands back to its runner. */
export interface LifeClient<J> {
  /** `init` succeeded (its value seeded the state): start `job`, which waited for it. */
  startWaiting(job: J): void
  /** `init` failed: fail `job`, which waited for it, with `error`. */
  failWaiting(job: J, error: unknown): void
  /** `init` succeeded, before the waiting jobs start (a thread runner opens its thread with `seed`). */
  initialized?(seed: unknown): void
  /** On dispose, after `dispose` is called: what else to wait for (a thread runner lets its thread go). */
  released?(): Promise<void> | undefined
}

const NO_INIT = 0
const INIT_RUNNING = 1
const INIT_DONE = 2

/** A runner's life: `init` once before its first item, `dispose` once at the end (see the top of this file). */
export class RunnerLife<J> {
  /** The stage stopped: late results are discarded, and a late `init` is disposed of. */
  retired = false
  /** The runner took an item (only then is it disposed). */
  used = false
  disposed = false
  /** Set when `init` failed: the runner takes no more items. */
  initError: unknown = undefined
  private initState = NO_INIT
  /** Items that arrived while `init` ran (one for a single-item runner, several for a multi-item one). */
  private readonly waiting: J[] = []

  constructor(
    private readonly config: WorkerConfig,
    private readonly ctx: Context,
    private readonly index: number,
    private readonly client: LifeClient<J>,
  ) {}

  /** Whether `job` can start now; if not, it waits for `init` (started on the first such job) and the client hears how it ends. */
  ready(job: J): boolean {
    if (this.initState === INIT_DONE || this.config.init === undefined) return true
    this.waiting.push(job)
    if (this.initState === NO_INIT) this.initialize()
    return false
  }

  private initialize(): void {
    this.initState = INIT_RUNNING
    callInit(
      this.config.init!,
      this.ctx,
      (value) => (this.retired ? this.lateInit(value) : this.initDone(value)),
      (error) => this.retired || this.initFailed(error),
    )
  }

  private initDone(value: unknown): void {
    const seeded = seedState(this.ctx, value)
    if (seeded !== SEEDED) return this.initFailed(seeded)
    this.initState = INIT_DONE
    this.client.initialized?.(value)
    for (const job of this.takeWaiting()) this.client.startWaiting(job)
  }

  /** `init` finished after the stage stopped: nothing starts (see settleLateInit). */
  private lateInit(value: unknown): void {
    this.initState = INIT_DONE
    settleLateInit(this.config, this.ctx, this.index, value, this.disposed)
  }

  private initFailed(error: unknown): void {
    this.initState = INIT_DONE
    this.initError = error
    logInitFailed(this.config, this.index, error)
    for (const job of this.takeWaiting()) this.client.failWaiting(job, error)
  }

  private takeWaiting(): J[] {
    const waiting = this.waiting.slice()
    this.waiting.length = 0
    return waiting
  }

  /** The stage stopped: nothing waiting for `init` will start. */
  retire(): void {
    this.retired = true
    this.waiting.length = 0
  }

  /** Runs `dispose` once, if the runner ever took an item and no `init` it pairs with failed or is still running. */
  dispose(): Promise<void> | undefined {
    if (this.disposed || !this.used) return undefined
    this.disposed = true
    const { config } = this
    const disposing = config.dispose !== undefined && this.initError === undefined && this.initState !== INIT_RUNNING ? callDispose(config, this.ctx, this.index) : undefined
    const released = this.client.released?.()
    if (disposing === undefined) return released
    return released === undefined ? disposing.then(() => {}) : Promise.all([disposing, released]).then(() => {})
  }
}

/** One item's attempts: which attempt this is, the last one allowed in place, and the errors so far. */
export interface AttemptRecord {
  attempt: number
  maxAttempt: number
  errors: unknown[] | null
}

/**
 * What a runner keeps per item it admits and tries: its ticket for the stage's
 * limiter (see TicketState) and its attempts (see AttemptRecord). A thread
 * runner's jobs and a remote runner extend it; a Worker keeps the same fields
 * itself (its own hot-path shape).
 */
export abstract class AttemptTicket implements AdmissionTicket, TicketState, AttemptRecord {
  admission = TICKET_IDLE
  admittedAt = 0
  attempt = 1
  maxAttempt = 1
  errors: unknown[] | null = null
  /** The limiter admits the parked attempt. */
  abstract admit(): void
}

/** Starts an item's attempts: after `priorErrors` (its failed attempts upstream of a `retry`), with `maxExtra` more in place. */
export function beginAttempts(record: AttemptRecord, priorErrors: unknown[] | null, maxExtra: number): void {
  const first = priorErrors === null ? 1 : priorErrors.length + 1
  record.errors = priorErrors === null ? null : priorErrors.slice()
  record.attempt = first
  record.maxAttempt = first + maxExtra
}

/** The current attempt failed with `error` (recorded): true when the item is tried again in place (the attempt number is then the next one). */
export function retryAfter(config: WorkerConfig, record: AttemptRecord, error: unknown, canRetry: boolean): boolean {
  ;(record.errors ??= []).push(error)
  if (config.limiter === undefined) pauseStage(config, error)
  if (!canRetry || !retryInPlace(config, record.attempt, record.maxAttempt, error)) return false
  record.attempt++
  return true
}

/** Every error of an item that failed with `error` before an attempt could start (its runner's `init` failed). */
export function errorsWith(record: AttemptRecord, error: unknown): unknown[] {
  return [...(record.errors ?? []), error]
}
