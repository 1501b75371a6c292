import type { StageContext } from '../exec/context.js'
import { checkFunction, checkInteger, checkOptionsObject } from '../internal/validate.js'
import { isThenable, Worker, type Runner, type WorkerConfig, type WorkerOwner } from '../internal/worker.js'
import { WorkerNode, type StageSpec } from '../internal/worker-node.js'
import { disposeAll } from '../internal/worker.js'
import { parseWorkerOptions, stageFlow, type ParsedWorkerOptions } from './_options.js'
import { checkHandlers } from './mix.js'
import type { HandlerValue, Operator, StageInput, StageOutput, WorkerOptions } from './types.js'

/**
 * Options of `fork`.
 *
 * @example
 * ```ts
 * fork([sentiment, keywords], ([s, k]) => ({ ...s, ...k }), { concurrency: 4, timeout: 10_000 })
 * ```
 */
export interface ForkOptions<R = any> extends WorkerOptions<R> {
  /** Items forked at once (default 1); each has its own set of branch workers. */
  concurrency?: number
}

type AnyHandler<A, R> = (item: A, ctx: StageContext<R>) => unknown
type Results<Hs extends readonly unknown[]> = { -readonly [K in keyof Hs]: Hs[K] extends (...args: any[]) => infer O ? HandlerValue<O> : never }

/**
 * Sends every item to every handler and merges their results, in handler order.
 * If any branch still fails after its retries, or `merge` throws, the item is a `Left`.
 *
 * @example
 * ```ts
 * pipe(docs, fork([sentiment, keywords], ([s, k]) => ({ ...s, ...k })))
 * ```
 */
export function fork<A, Hs extends readonly AnyHandler<A, R>[], M, R = any>(
  handlers: readonly [...Hs] & readonly AnyHandler<A, R>[],
  merge: (results: Results<Hs>) => M,
  options: ForkOptions<R> = {},
): Operator<StageInput<A>, StageOutput<Awaited<M>>> {
  checkHandlers('fork', handlers)
  checkFunction('fork', 'merge', merge)
  checkOptionsObject('fork', 'options', options)
  const { concurrency = 1, ...rest } = options
  checkInteger('fork', 'concurrency', concurrency, 1)
  const parsed = parseWorkerOptions('fork', rest as Record<string, unknown>, [])
  const spec = forkSpec(handlers, merge as (results: unknown[]) => unknown, { ...parsed, name: parsed.name ?? 'fork' }, concurrency)
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

/** One fork slot: a worker per branch; the item is done when every branch is. */
class ForkRunner implements Runner, WorkerOwner {
  readonly handlerIndex = 0
  busy = false
  broken: unknown = undefined
  seq = 0
  private readonly branches: Worker[]
  private readonly results: unknown[]
  private pending = 0
  private failedErrors: unknown[] | null = null
  private item: unknown = undefined
  private retired = false

  constructor(
    config: WorkerConfig,
    handlers: readonly unknown[],
    private readonly merge: (results: unknown[]) => unknown,
    private readonly owner: WorkerOwner,
    readonly index: number,
  ) {
    this.branches = handlers.map((handler, b) => new Worker(config, handler, index * handlers.length + b, this, b))
    this.results = new Array(handlers.length)
  }

  run(item: unknown, seq: number, priorErrors: unknown[] | null = null, maxExtra?: number): void {
    this.busy = true
    this.item = item
    this.seq = seq
    this.failedErrors = null
    this.pending = this.branches.length
    for (const branch of this.branches) {
      // A kill from an earlier branch stops the stage (and retires this runner) before the later branches start:
      // start none of them, or their init would never meet a dispose.
      if (this.retired) return
      branch.run(item, seq, priorErrors, maxExtra)
    }
  }

  settled(runner: Runner, _item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    if (ok) this.results[runner.handlerIndex] = value
    else {
      this.failedErrors ??= errors
      if (runner.broken !== undefined) this.broken = runner.broken
    }
    if (--this.pending > 0) return
    const item = this.item
    this.item = undefined
    if (this.failedErrors !== null) return this.done(item, false, undefined, this.failedErrors)
    let merged: unknown
    try {
      merged = this.merge(this.results.slice())
    } catch (error) {
      return this.done(item, false, undefined, [error])
    }
    if (isThenable(merged)) {
      merged.then(
        (value) => this.retired || this.done(item, true, value, null),
        (error) => this.retired || this.done(item, false, undefined, [error]),
      )
    } else this.done(item, true, merged, null)
  }

  private done(item: unknown, ok: boolean, value: unknown, errors: unknown[] | null): void {
    this.busy = false
    this.results.fill(undefined)
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
