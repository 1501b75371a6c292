import type { Either } from 'fp-ts/lib/Either.js'
import { checkInteger, checkKeys, checkNumber, checkOptionsObject } from '../exec/validate.js'
import { TransformNode, type Transform } from '../exec/engine/transform-node.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind, mkRight } from '../result/either.js'
import type { StageError } from '../result/stage-error.js'
import { stageFlow } from '../exec/engine/stage-flow.js'
import { MAX_TIMER_MS } from './stage-options.js'
import type { Stage, StageInput, StageOutput } from '../exec/types.js'

/**
 * Options of `batch`.
 *
 * @example
 * ```ts
 * pipe(events, batch(1_000, { maxWaitMs: 200 }), pool(writeMany)) // at most 200 ms late on a slow stream
 * ```
 */
export interface BatchOptions {
  /** Emit a partial batch once its first item has waited this long (default: wait for a full batch). */
  maxWaitMs?: number
}

type Batched = Either<StageError, unknown[]> | Either<StageError, never>

/** One batch stage's state: the batch being filled, and its wait timer. */
class Batching implements Transform<Batched> {
  private current: unknown[] = []
  private timer: ReturnType<typeof setTimeout> | undefined
  private node: TransformNode<Batched> | undefined

  constructor(
    private readonly size: number,
    private readonly maxWaitMs: number | undefined,
  ) {}

  onItem(item: unknown, node: TransformNode<Batched>): void {
    this.node = node
    const kind = eitherKind(item)
    if (kind === KIND_LEFT) {
      // The Left keeps its place: the items before it go out first, as a short batch.
      if (this.current.length > 0) this.flush()
      return node.push(item as Either<StageError, never>)
    }
    if (kind === KIND_RIGHT) item = (item as { right: unknown }).right
    this.current.push(item)
    if (this.current.length >= this.size) this.flush()
    else if (this.current.length === 1 && this.maxWaitMs !== undefined) this.timer = setTimeout(this.onTimer, this.maxWaitMs)
  }

  private readonly onTimer = (): void => {
    this.timer = undefined
    const node = this.node!
    if (this.current.length > 0 && !node.isStopped) {
      this.flush()
      node.pumpNow()
    }
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const full = this.current
    this.current = []
    this.node!.push(mkRight(full))
  }

  onEnd(node: TransformNode<Batched>): void {
    this.node = node
    if (this.current.length > 0) this.flush()
  }

  onStop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.current = []
  }
}

/**
 * Groups items into arrays of `size` (the last may be shorter); `Left`s pass
 * through on their own, in their place (a `Left` sends the batch before it out early). With `maxWaitMs`, a partial batch goes out once its
 * first item has waited that long.
 *
 * @example
 * ```ts
 * pipe(rows, batch(500, { maxWaitMs: 50 }), pool(insertMany, 2)) // one insert per 500 rows, or per 50 ms
 * ```
 */
export function batch<A>(size: number, options: BatchOptions = {}): Stage<StageInput<A>, StageOutput<A[]>> {
  checkInteger('batch', 'size', size, 1)
  checkOptionsObject('batch', 'options', options)
  checkKeys('batch', options, ['maxWaitMs'])
  if (options.maxWaitMs !== undefined) checkNumber('batch', 'maxWaitMs', options.maxWaitMs, 0)
  return function batchOperator(source) {
    // A wait longer than a timer can hold (Infinity included) means no wait: Node would fire it after 1 ms.
    const maxWaitMs = options.maxWaitMs !== undefined && options.maxWaitMs <= MAX_TIMER_MS ? options.maxWaitMs : undefined
    return stageFlow<StageOutput<A[]>>('batch', source, (src, signal) => new TransformNode<Batched>(src, signal, new Batching(size, maxWaitMs), 1))
  }
}

const UNBATCH: Transform<Either<StageError, unknown>> = {
  onItem(item, node) {
    const kind = eitherKind(item)
    if (kind === KIND_LEFT) return node.push(item as Either<StageError, never>)
    if (kind === KIND_RIGHT) item = (item as { right: unknown }).right
    if (item == null || typeof item === 'string' || !isIterable(item)) {
      node.push(mkRight(item))
      return
    }
    for (const element of item as Iterable<unknown>) node.push(mkRight(element))
  },
}

/** Whether `value` can be flattened; a value that can't be read (a revoked Proxy) is a single item. */
function isIterable(value: unknown): value is Iterable<unknown> {
  try {
    return typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
  } catch {
    return false
  }
}

/**
 * Flattens arrays (any iterable) back into single items; `Left`s pass through.
 *
 * @example
 * ```ts
 * pipe(rows, batch(100), pool(enrichMany, 2), unbatch())
 * ```
 */
export function unbatch<A>(): Stage<StageInput<Iterable<A>>, StageOutput<A>> {
  return function unbatchOperator(source) {
    return stageFlow<StageOutput<A>>('unbatch', source, (src, signal) => new TransformNode(src, signal, UNBATCH, 1))
  }
}
