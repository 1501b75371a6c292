import type { Either } from 'fp-ts/lib/Either.js'
import { checkBoolean, checkFunction, checkInteger, checkKeys, checkOptionsObject, fail } from './validate.js'
import { Node } from './engine/node.js'
import { isSource } from './engine/producer.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind, mkLeft, mkRight } from '../result/either.js'
import { PipelineError, abortError, cancelledError, failedError, internalError, sourceError } from '../result/pipeline-error.js'
import { StageError } from '../result/stage-error.js'
import { NodeDrain, closeIterator, drain, openIterator, type ItemSink } from './drain.js'
import { badLevels, toLogger, type Logger } from './logger.js'
import { isThenable, whenSettled } from './engine/settle.js'
import type { Report } from '../result/report.js'
import type { EnvOf, ValueOf } from './types.js'
import type { AnyFlow, EnvArg, EnvChecked, ErrorOf, ItemOf } from './env-check.js'
import { RunState, Scope, bindScope } from './scope.js'

/**
 * Options of `run` and `collect`.
 *
 * @example
 * ```ts
 * await run(pipe(ids, pool(fetchUser, 8)), { env: { db }, signal: AbortSignal.timeout(60_000), log: true, failFast: true })
 * ```
 */
export interface RunOptions<R = unknown> {
  /** The environment every handler sees as `ctx.env`. */
  env?: R
  /** Abort to cancel the run (`AbortSignal.timeout(ms)` gives a `timeout` error). */
  signal?: AbortSignal
  /**
   * `true` logs to the console; or give a Logger. Silent by default. Levels the logger
   * leaves out are ignored (`{ warn: console.warn }` logs warnings only), and a logger
   * that throws never stops the run (its first failure goes to `console.error`).
   */
  log?: boolean | Partial<Logger>
  /** Called with the report at most every `progressMs`, and once at the end. */
  onProgress?: (report: Report) => void
  /** Default 200. */
  progressMs?: number
  /** Count array and string items by their length (the Python library's `tally_len`). */
  countLength?: boolean
  /** End the run with a `failed` error at the first `Left`. */
  failFast?: boolean
  /** Time handlers for `busyMs` (default true; costs two clock reads per item). */
  timing?: boolean
}

const noop = (): void => {}


const RUN_KEYS = ['env', 'signal', 'log', 'onProgress', 'progressMs', 'countLength', 'failFast', 'timing'] as const

/**
 * What `collect` gathered.
 *
 * @example
 * ```ts
 * const result = await collect(pipe(ids, pool(fetchUser, 8)))
 * if (isRight(result)) console.log(`${result.right.values.length} users, ${result.right.errors.length} failed`)
 * ```
 */
export interface Collected<T, E = never> {
  /** Every value that left the pipeline (`Right`s unwrapped), in the order they came out. */
  values: T[]
  /** Every `StageError` that left the pipeline (not those `values()` or `deadLetter` took out on the way). */
  errors: StageError<E>[]
  /** The run's report. */
  report: Report
}

/**
 * Drains a pipeline and reports what happened. Never rejects: item failures are
 * counted in the report (a `Left` of the run only with `failFast`); the run is a
 * `Left` when it is cancelled, killed, times out, or its source fails. A pipeline
 * whose handlers need an environment takes it as `env` (a compile error when it
 * is missing or wrong), unless a `provide(env)` at its end supplies it.
 *
 * @example
 * ```ts
 * const result = await run(pipe(ids, pool(fetchUser, 8)), { env: { db }, onProgress: (r) => console.log(r.processed) })
 * if (isRight(result)) console.log(`${result.right.processed} ok, ${result.right.failed} failed`)
 * ```
 */
export function run<F extends AnyFlow, K extends PropertyKey = never>(flow: EnvChecked<F, K>, options?: RunOptions<EnvArg<EnvOf<F>, K>>): Promise<Either<PipelineError, Report>>
export function run(flow: AnyFlow, options: RunOptions<unknown> = {}): Promise<Either<PipelineError, Report>> {
  // Wrong arguments are a programming error: a TypeError now, like a stage's, not a rejection later.
  validate('run', flow, options)
  return drive(flow, options, null).catch(internalFailure)
}

/**
 * Drains a pipeline into memory: every `Right` value and every `StageError`, with the report.
 *
 * @example
 * ```ts
 * const result = await collect(pipe([1, 2, 3], pool(async (n: number) => n * 2)))
 * if (isRight(result)) console.log(result.right.values) // [2, 4, 6] in completion order
 * ```
 */
export function collect<F extends AnyFlow, K extends PropertyKey = never>(
  flow: EnvChecked<F, K>,
  options?: RunOptions<EnvArg<EnvOf<F>, K>>,
): Promise<Either<PipelineError, Collected<ValueOf<ItemOf<F>>, ErrorOf<ItemOf<F>>>>>
export function collect(flow: AnyFlow, options: RunOptions<unknown> = {}): Promise<Either<PipelineError, Collected<unknown>>> {
  validate('collect', flow, options)
  const sink: Collected<unknown> = { values: [], errors: [], report: undefined as unknown as Report }
  return drive(flow, options, sink).then((result): Either<PipelineError, Collected<unknown>> => {
    if (result._tag === 'Left') return result
    sink.report = result.right
    return mkRight(sink)
  }, internalFailure)
}

/** The last line of "never rejects": a bug in pipevine becomes an `internal` Left, not a rejection. */
function internalFailure(error: unknown): Either<PipelineError, never> {
  return mkLeft(internalError(error))
}

function validate(stage: string, flow: unknown, options: RunOptions<unknown>): void {
  if (!isSource(flow)) fail(stage, 'flow', 'an AsyncIterable or Iterable', flow)
  checkOptionsObject(stage, 'options', options)
  checkKeys(stage, options, RUN_KEYS)
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) fail(stage, 'signal', 'an AbortSignal', options.signal)
  if (options.onProgress !== undefined) checkFunction(stage, 'onProgress', options.onProgress)
  if (options.progressMs !== undefined) checkInteger(stage, 'progressMs', options.progressMs, 1)
  if (options.countLength !== undefined) checkBoolean(stage, 'countLength', options.countLength)
  if (options.failFast !== undefined) checkBoolean(stage, 'failFast', options.failFast)
  if (options.timing !== undefined) checkBoolean(stage, 'timing', options.timing)
  const log = options.log
  if (log !== undefined && typeof log !== 'boolean') {
    const bad = typeof log === 'object' && log !== null ? badLevels(log) : undefined
    if (bad === undefined) fail(stage, 'log', 'a boolean or a Logger (with at least one of debug, info, warn, error)', log)
    if (bad.length > 0) fail(stage, 'log', `a Logger whose ${bad.join(', ')} ${bad.length === 1 ? 'is a function' : 'are functions'} (or left out)`, log)
  }
}

async function drive(
  flow: AsyncIterable<unknown> | Iterable<unknown>,
  options: RunOptions<unknown>,
  sink: Collected<unknown> | null,
): Promise<Either<PipelineError, Report>> {
  const { signal, onProgress, progressMs = 200, countLength = false, failFast = false } = options
  const root = new AbortController()
  const state = new RunState(root, toLogger(options.log), options.timing ?? true)
  state.failFast = failFast
  state.haltOnLeft = failFast
  bindScope(root.signal, new Scope(state, options.env))
  const finalReport = (error?: PipelineError, report = state.report()): Either<PipelineError, Report> => {
    if (error === undefined) return mkRight(report)
    error.report = report
    return mkLeft(error)
  }
  if (signal?.aborted) return finalReport(abortError(signal))

  let stopWaiting: ((error: PipelineError) => void) | undefined
  const stopped = new Promise<PipelineError>((resolve) => (stopWaiting = resolve))
  const onAbort = (): void => {
    state.abort(abortError(signal!))
  }
  const onRootAbort = (): void => stopWaiting!(state.failure ?? abortError(root.signal))
  signal?.addEventListener('abort', onAbort, { once: true })
  root.signal.addEventListener('abort', onRootAbort, { once: true })

  let timer: ReturnType<typeof setInterval> | undefined
  let progressFailed: unknown
  const progress = (report?: Report): void => {
    if (onProgress === undefined || progressFailed !== undefined) return
    try {
      const returned: unknown = onProgress(report ?? state.report())
      // An async onProgress is not awaited (progress never holds the run back), but its rejection is ours to handle.
      if (isThenable(returned)) whenSettled(returned, noop, progressRejected)
    } catch (error) {
      progressFailed = error
      state.abort(internalError(error, 'onProgress threw'))
    }
  }
  const progressRejected = (error: unknown): void => {
    if (progressFailed !== undefined) return
    progressFailed = error
    state.abort(internalError(error, 'onProgress rejected'))
  }
  if (onProgress !== undefined) timer = setInterval(() => progress(), progressMs)

  let iterator: AsyncIterator<unknown> | undefined
  let failure: PipelineError | undefined
  let done = false
  try {
    iterator = openIterator(flow, root.signal)
    const tally = new Tally(state, sink, countLength, failFast)
    done = await drain(iterator, tally, stopped, true)
  } catch (error) {
    failure = state.failure ?? (error instanceof StageError ? failedError(error, false) : sourceError(error))
  } finally {
    if (timer !== undefined) clearInterval(timer)
    signal?.removeEventListener('abort', onAbort)
    root.signal.removeEventListener('abort', onRootAbort)
    if (!done && iterator?.return !== undefined) {
      if (!root.signal.aborted) root.abort(failure ?? cancelledError('run ended'))
      await closeIterator(iterator)
    }
  }
  // The last progress call gets the very report the run resolves with.
  const report = state.report()
  progress(report)
  failure ??= state.failure
  return finalReport(failure, report)
}

/** Counts what leaves the pipeline, and keeps it for `collect`. */
class Tally implements ItemSink {
  constructor(
    private readonly state: RunState,
    private readonly sink: Collected<unknown> | null,
    private readonly countLength: boolean,
    private readonly failFast: boolean,
  ) {}

  /** One item's accounting; false ends the run (failFast). */
  accept(item: unknown): boolean {
    let value = item
    const kind = eitherKind(item)
    if (kind === KIND_RIGHT) value = (item as { right: unknown }).right
    else if (typeof item === 'object' && item !== null) {
      if (kind === KIND_LEFT || item instanceof StageError) {
        const error = kind === KIND_LEFT ? (item as { left: unknown }).left : item
        this.state.failed++
        if (this.sink !== null) this.sink.errors.push(error as StageError)
        if (this.failFast && kind === KIND_LEFT) {
          this.state.abort(failedError(error, true))
          return false
        }
        return true
      }
    }
    this.state.processed += this.countLength ? lengthOf(value) : 1
    if (this.sink !== null) this.sink.values.push(value)
    return true
  }
}

/**
 * Drains `flow` as `run` does and keeps the drain and the tally in `keep`: the
 * shapes anchor (exec/shapes.ts) runs it once, so that their classes outlive a
 * full GC as the stages' do.
 */
export async function drainForShapes(flow: AsyncIterable<unknown>, keep: unknown[]): Promise<void> {
  const iterator = flow[Symbol.asyncIterator]()
  if (!(iterator instanceof Node)) return
  const tally = new Tally(iterator.scope.run, null, false, false)
  const reader = new NodeDrain(iterator, tally, true)
  keep.push(reader)
  reader.sweep()
  await reader.result
}

/** `countLength`'s count for one item: a string's or an array's length, else 1 (also for what can't be read). */
function lengthOf(value: unknown): number {
  try {
    if (typeof value === 'string' || Array.isArray(value)) return value.length
  } catch {
    // a revoked Proxy counts as one item
  }
  return 1
}
