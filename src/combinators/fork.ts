import { checkFunction } from '../exec/validate.js'
import { isKill } from '../exec/kill.js'
import { hasRunner } from '../exec/engine/spawn.js'
import type { HandlerFn, Runner, WorkerConfig, WorkerOwner } from '../exec/engine/runner.js'
import { createWorker, type Worker } from '../exec/engine/worker.js'
import { FAILED_VALUE, KILLED_VALUE, UNTIMED, disposeAll, readValue, sampleWeight, timed, unwrapped } from '../exec/engine/worker-life.js'
import { whenSettled } from '../exec/engine/settle.js'
import { WorkerNode, type StageSpec } from '../exec/engine/worker-node.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import { parseConcurrency, parseWorkerOptions, type ParsedWorkerOptions } from './stage-options.js'
import { skip } from '../exec/skip.js'
import { checkHandlers } from './mix.js'
import type { HandlerValue, WorkerStage } from '../exec/types.js'
import type { AdaptiveConcurrency, AnyHandler, EnvOfHandlers, ErrorOfHandlers, ItemOf, WorkerOptions } from './types.js'

/**
 * Options of `fork`.
 *
 * @example
 * ```ts
 * fork([sentiment, keywords], ([s, k]) => ({ ...s, ...k }), { concurrency: 4, timeout: 10_000 })
 * ```
 */
export interface ForkOptions<R = any, I = unknown> extends WorkerOptions<R, I> {
  /**
   * Items forked at once (default 1; `Infinity`: no limit); each has its own set of branch workers, created as items need them.
   * `{ min, max, initial? }`: adaptive; the limit then counts branch attempts running at once, up to `max` items forked.
   */
  concurrency?: number | AdaptiveConcurrency
}


/**
 * What `fork`'s `merge` gets: each handler's value for the item, in handler order (a
 * promise's value, an `Either`'s `Right`), as a tuple when the handlers are written
 * as an array literal.
 *
 * @example
 * ```ts
 * // ForkResults<[(doc: string) => Promise<{ sentiment: number }>, (doc: string) => Promise<{ keywords: string[] }>]>
 * //   is [{ sentiment: number }, { keywords: string[] }]
 * fork([sentiment, keywords], (results: ForkResults<[typeof sentiment, typeof keywords]>) => ({ ...results[0], ...results[1] }))
 * ```
 */
export type ForkResults<Hs extends readonly unknown[]> = { -readonly [K in keyof Hs]: Hs[K] extends (...args: any[]) => infer O ? HandlerValue<O> : never }

/**
 * Sends every item to every handler and merges their results, in handler order.
 * If any branch still fails after its retries, or `merge` throws, the item is a `Left`.
 * A branch that returns `skip` skips the whole item (`merge` is not called), unless
 * another branch failed it; `merge` may return `skip` too.
 *
 * @typeParam Hs - The handlers, inferred as a tuple (no `as const` needed): they give the
 *   stage its item type, the environment it needs and the typed failures of its `StageError`s.
 * @example
 * ```ts
 * pipe(docs, fork([sentiment, keywords], ([s, k]) => ({ ...s, ...k })))
 * ```
 */
export function fork<const Hs extends readonly AnyHandler[], M, I = void>(
  handlers: Hs,
  merge: (results: ForkResults<Hs>) => M,
  options: ForkOptions<EnvOfHandlers<Hs>, I> = {},
): WorkerStage<ItemOf<Hs>, Awaited<M>, EnvOfHandlers<Hs>, ErrorOfHandlers<Hs>> {
  checkHandlers('fork', handlers)
  checkFunction('fork', 'merge', merge)
  const parsed = parseWorkerOptions('fork', options as Record<string, unknown>, ['concurrency'])
  const { slots, createLimiter } = parseConcurrency('fork', options.concurrency ?? 1, parsed)
  const spec = forkSpec(handlers, merge as (results: unknown[]) => unknown, { ...parsed, createLimiter, name: parsed.name ?? 'fork' }, slots)
  return function forkOperator(source) {
    return stageFlow('fork', source, (src, signal) => new WorkerNode(src, signal, spec))
  }
}

export function forkSpec(handlers: readonly unknown[], merge: (results: unknown[]) => unknown, options: ParsedWorkerOptions & { name: string }, slots: number): StageSpec {
  return {
    ...options,
    slots,
    createRunner: (config, owner, index) => new ForkRunner(config, handlers, merge, owner, index),
    handlerIndexOf: () => 0,
  }
}

/**
 * One fork slot: a worker per branch; the item is done when every branch is.
 *
 * When no branch needs a worker's machinery (no `init`, `dispose`, `timeout`,
 * `retries` or limiter, no thread handlers), the slot calls the branch handlers itself, as
 * `Promise.all` would: the workers then only lend their contexts. A replay from
 * a downstream `retry` still goes through the workers.
 */
class ForkRunner implements Runner, WorkerOwner {
  readonly handlerIndex = 0
  busy = false
  broken: unknown = undefined
  seq = 0
  /** A Worker per branch, or a thread handler's own runner (which times items in the thread and replaces a stuck one). */
  private readonly branches: Runner[]
  private results: unknown[]
  private pending = 0
  private failedErrors: unknown[] | null = null
  private item: unknown = undefined
  private retired = false
  /** The direct path's handlers and their bound callbacks (undefined: always through the workers). */
  private readonly direct: { fns: HandlerFn[]; onValue: ((value: unknown) => void)[]; onError: ((error: unknown) => void)[] } | undefined
  private startedAt = UNTIMED
  private items = 0

  constructor(
    private readonly config: WorkerConfig,
    handlers: readonly unknown[],
    private readonly merge: (results: unknown[]) => unknown,
    private readonly owner: WorkerOwner,
    readonly index: number,
  ) {
    this.branches = handlers.map((handler, b) => createWorker(config, handler, index * handlers.length + b, this, b))
    this.results = new Array(handlers.length)
    const plain = handlers.every((h) => typeof h === 'function' && !hasRunner(h))
    // With a limiter, every branch attempt is admitted by its worker.
    if (plain && config.init === undefined && config.dispose === undefined && config.timeout === 0 && config.retries === 0 && config.limiter === undefined) {
      this.direct = {
        fns: handlers as HandlerFn[],
        onValue: handlers.map((_, b) => (value: unknown) => this.branchValue(b, value)),
        onError: handlers.map((_, b) => (error: unknown) => (this.retired ? this.config.stats.discarded++ : this.branchSettled(b, false, error))),
      }
    }
  }

  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra?: number, index = seq): void {
    this.busy = true
    this.item = item
    this.seq = seq
    this.failedErrors = null
    this.pending = this.branches.length
    if (this.direct !== undefined && priorErrors === null) return this.runDirect(item, index)
    for (const branch of this.branches) {
      // A kill from an earlier branch stops the stage (and retires this runner) before the later branches start:
      // start none of them, or their init would never meet a dispose.
      if (this.retired) return
      branch.run(item, seq, priorErrors, maxExtra, index)
    }
  }

  private runDirect(item: unknown, index: number): void {
    const { fns, onValue, onError } = this.direct!
    // Timed like a Worker: every item at first, then one in TIMING_SAMPLE, counted for TIMING_SAMPLE.
    if (this.config.scope.run.timing && timed(++this.items)) this.startedAt = performance.now()
    for (let b = 0; b < fns.length; b++) {
      if (this.retired) return
      const ctx = (this.branches[b] as Worker).ctx
      ctx.attempt = 1
      ctx.index = index
      let result: unknown
      try {
        result = fns[b]!(item, ctx)
      } catch (error) {
        this.branchSettled(b, false, error)
        continue
      }
      if (!whenSettled(result, onValue[b]!, onError[b]!)) this.branchValue(b, result)
    }
  }

  private branchValue(b: number, value: unknown): void {
    if (this.retired) {
      this.config.stats.discarded++
      return
    }
    const read = readValue(value, this.config.scope.run)
    if (read !== KILLED_VALUE) this.branchSettled(b, read !== FAILED_VALUE, unwrapped.value)
  }

  private branchSettled(b: number, ok: boolean, value: unknown): void {
    if (this.startedAt >= 0) this.config.stats.busyMs += (performance.now() - this.startedAt) * sampleWeight(this.items)
    if (ok) this.results[b] = value
    else this.failedErrors ??= [value]
    if (--this.pending === 0) {
      this.startedAt = UNTIMED
      this.joined()
    }
  }

  settled(runner: Runner, _item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    if (ok) this.results[runner.handlerIndex] = value
    else {
      this.failedErrors ??= errors
      if (runner.broken !== undefined) this.broken = runner.broken
    }
    if (--this.pending === 0) this.joined()
  }

  /** Every branch is done: merge, or fail the item with the first branch error. */
  private joined(): void {
    const item = this.item
    this.item = undefined
    if (this.failedErrors !== null) {
      this.results.fill(undefined)
      return this.done(item, false, undefined, this.failedErrors)
    }
    // A branch that skips the item skips it for all of them.
    if (this.results.includes(skip)) {
      this.results.fill(undefined)
      return this.done(item, true, skip, null)
    }
    // `merge` may keep the array: it gets this one, and the next item a fresh one.
    const results = this.results
    this.results = new Array(results.length)
    let merged: unknown
    try {
      merged = this.merge(results)
    } catch (error) {
      return this.done(item, false, undefined, [error])
    }
    const settled = whenSettled(
      merged,
      (value) => this.retired || this.merged(item, value),
      (error) => this.retired || this.done(item, false, undefined, [error]),
    )
    if (!settled) this.merged(item, merged)
  }

  /** `merge` may return `kill()`, like any handler: then the run is killed (and this slot retired), nothing is emitted. */
  private merged(item: unknown, value: unknown): void {
    if (isKill(value)) this.config.scope.run.kill(value.reason)
    else this.done(item, true, value, null)
  }

  private done(item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    this.busy = false
    this.owner.settled(this, item, ok, value, errors)
  }

  retire(): void {
    this.retired = true
    this.busy = false
    for (const branch of this.branches) if (branch.busy) branch.retire()
  }

  dispose(): Promise<void> | undefined {
    return disposeAll(this.branches)
  }
}
