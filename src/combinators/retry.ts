import type { Either } from 'fp-ts/lib/Either.js'
import { checkFunction, checkInteger, checkKeys, checkNumber, checkOptionsObject, fail } from '../internal/validate.js'
import { isReplayOrigin, type ReplayOrigin } from '../internal/stage-core.js'
import type { Runner, WorkerConfig, WorkerOwner } from '../internal/worker.js'
import { WorkerNode, type StageSpec } from '../internal/worker-node.js'
import { mkLeft, mkRight } from '../result/either.js'
import { StageError, kReplay, type ReplayTarget } from '../result/stage-error.js'
import { stageFlow } from './_options.js'
import type { Operator, StageOptions } from './types.js'

export type Backoff = 'none' | 'linear' | 'exponential' | ((attempt: number) => number)

/** How `retry` retries. */
export interface RetryPolicy extends StageOptions {
  /** Extra attempts per failed item (default 1). */
  retries?: number
  /** Delay before each retry (default `'exponential'`). */
  backoff?: Backoff
  /** First delay in ms for `linear`/`exponential` (default 100). */
  baseMs?: number
  /** Longest delay in ms (default 30,000). */
  maxMs?: number
  /** Randomise each delay: `true` picks uniformly in [delay/2, delay] (default false). */
  jitter?: boolean
  /** Retry only errors this accepts; it gets the last attempt's error, then the StageError (default: all). */
  when?: (cause: unknown, error: StageError) => boolean
  /** Items being retried at once (default 64); others keep flowing past them. */
  concurrency?: number
  /** Keep source order (default false: a recovered item rejoins the stream when it succeeds). */
  ordered?: boolean
}

const RETRY_KEYS = ['name', 'buffer', 'retries', 'backoff', 'baseMs', 'maxMs', 'jitter', 'when', 'concurrency', 'ordered'] as const

/**
 * Runs each failed item's stage again, up to `retries` more times, waiting out a
 * backoff between attempts, before letting its `Left` through. Items waiting on
 * a backoff don't stall the stream: others keep flowing past them.
 *
 * @example
 * ```ts
 * pipe(urls, pool(fetchPage, 16), retry({ retries: 3, backoff: 'exponential', baseMs: 100, when: isTransient }))
 * ```
 */
export function retry<T>(policy: number | RetryPolicy = 1): Operator<T, T> {
  const options: RetryPolicy = typeof policy === 'number' ? { retries: policy } : policy
  checkOptionsObject('retry', 'policy', options)
  checkKeys('retry', options, RETRY_KEYS)
  const { name = 'retry', buffer = 1, retries = 1, backoff = 'exponential', baseMs = 100, maxMs = 30_000, jitter = false, when, concurrency = 64, ordered = false } = options
  checkInteger('retry', 'retries', retries, 0)
  checkInteger('retry', 'buffer', buffer, 0)
  checkInteger('retry', 'concurrency', concurrency, 1)
  checkNumber('retry', 'baseMs', baseMs, 0)
  checkNumber('retry', 'maxMs', maxMs, 0)
  if (typeof backoff !== 'function' && !['none', 'linear', 'exponential'].includes(backoff as string)) {
    fail('retry', 'backoff', "'none', 'linear', 'exponential' or a function", backoff)
  }
  if (typeof jitter !== 'boolean') fail('retry', 'jitter', 'a boolean', jitter)
  if (when !== undefined) checkFunction('retry', 'when', when)
  if (typeof ordered !== 'boolean') fail('retry', 'ordered', 'a boolean', ordered)

  const delayOf = (attempt: number): number => {
    let ms = typeof backoff === 'function' ? backoff(attempt) : backoff === 'none' ? 0 : backoff === 'linear' ? baseMs * attempt : baseMs * 2 ** (attempt - 1)
    if (!(ms >= 0)) ms = 0
    ms = Math.min(ms, maxMs)
    return jitter ? ms / 2 + (Math.random() * ms) / 2 : ms
  }
  const retryable = (error: StageError): boolean => when === undefined || when(error.cause, error)

  const spec: StageSpec = {
    name,
    buffer,
    ordered,
    retries: 0,
    timeout: 0,
    init: undefined,
    dispose: undefined,
    slots: concurrency,
    rawResults: true,
    createRunner: (config, owner, index) => new RetrySlot(config, owner, index, retries, delayOf, retryable),
    handlerIndexOf: () => 0,
    admit: (item) => {
      if (typeof item !== 'object' || item === null || (item as { _tag?: unknown })._tag !== 'Left') return false
      const error = (item as { left: unknown }).left
      return retries > 0 && error instanceof StageError && isReplayOrigin(error[kReplay]?.origin) && safeRetryable(retryable, error)
    },
  }
  return function retryOperator(source) {
    return stageFlow('retry', source, (src, signal) => new WorkerNode(src, signal, spec))
  }
}

function safeRetryable(retryable: (error: StageError) => boolean, error: StageError): boolean {
  try {
    return retryable(error)
  } catch {
    return false
  }
}

/** Holds one failed item through its backoffs and replays, on a runner of the stage that failed it. */
class RetrySlot implements Runner, WorkerOwner {
  readonly handlerIndex = 0
  readonly broken = undefined
  busy = false
  seq = 0
  private error: StageError | undefined
  private tries = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private readonly replayers = new Map<ReplayOrigin, Runner[]>()
  private current: Runner | undefined
  private retired = false

  constructor(
    private readonly config: WorkerConfig,
    private readonly owner: WorkerOwner,
    readonly index: number,
    private readonly retries: number,
    private readonly delayOf: (attempt: number) => number,
    private readonly retryable: (error: StageError) => boolean,
  ) {}

  run(item: unknown, seq: number): void {
    this.busy = true
    this.seq = seq
    this.error = (item as { left: StageError }).left
    this.tries = 0
    this.schedule()
  }

  private schedule(): void {
    this.tries++
    this.timer = setTimeout(this.fire, this.delayOf(this.tries))
  }

  private readonly fire = (): void => {
    this.timer = undefined
    if (this.retired) return
    const error = this.error!
    const target = error[kReplay]!
    const origin = target.origin as ReplayOrigin
    const runner = this.runnerFor(origin, target)
    this.current = runner
    origin.stats.retried++
    origin.stats.inFlight++
    runner.run(error.item, this.seq, error.errors as unknown[], 0)
  }

  private runnerFor(origin: ReplayOrigin, target: ReplayTarget): Runner {
    let runners = this.replayers.get(origin)
    if (runners === undefined) this.replayers.set(origin, (runners = []))
    return (runners[target.handlerIndex] ??= origin.replayRunner(target.handlerIndex, this, this.config.signal))
  }

  settled(_runner: Runner, item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    const previous = this.error!
    const target = previous[kReplay]!
    const origin = target.origin as ReplayOrigin
    origin.stats.inFlight--
    this.current = undefined
    if (ok) {
      origin.stats.failed--
      origin.stats.processed++
      return this.done(mkRight(value))
    }
    const error = new StageError(previous.stage, item, errors!, target)
    this.error = error
    if (this.tries < this.retries && !this.config.signal.aborted && safeRetryable(this.retryable, error)) return this.schedule()
    origin.scope.run.log.warn(`[${error.stage}] item still failing after ${error.attempts} attempts: ${error.message}`)
    this.done(mkLeft(error))
  }

  private done(result: Either<StageError, unknown>): void {
    this.busy = false
    this.error = undefined
    this.owner.settled(this, undefined, true, result, null)
  }

  retire(): void {
    this.retired = true
    this.busy = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.current !== undefined) {
      const origin = this.error?.[kReplay]?.origin as ReplayOrigin | undefined
      if (origin) origin.stats.inFlight--
      this.current.retire()
    }
  }

  dispose(): Promise<void> | undefined {
    let waits: Promise<void>[] | undefined
    for (const runners of this.replayers.values())
      for (const runner of runners) {
        const waiting = runner?.dispose()
        if (waiting) (waits ??= []).push(waiting)
      }
    return waits === undefined ? undefined : Promise.all(waits).then(() => {})
  }
}
