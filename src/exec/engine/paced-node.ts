import { KIND_LEFT, eitherKind } from '../../result/either.js'
import type { AnySource, Pulled } from './producer.js'
import type { Out } from './ordered-node.js'
import { WorkerNode, type StageSpec } from './worker-node.js'

/**
 * A pool/mix/fork stage with `buffer: 0`: it never pulls ahead of its reader. It
 * takes an item from upstream only for a read that is waiting for one (a `next()`
 * not yet answered, or a downstream stage's `take` that found nothing), so each
 * item it pulls was asked for — for sources where reading ahead is itself a side
 * effect (a queue that hands out leases, a cursor that marks rows as read). It runs
 * at most as many items at once as there are reads waiting: one for a `for await`.
 */
export class PacedWorkerNode extends WorkerNode {
  /** The downstream stage's `take` found nothing: its demand stands until an output comes. */
  private takeOwed = false

  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, spec: StageSpec) {
    super(source, signal, spec)
    this.unmet = 0
    this.producesUnasked = false
  }

  override poll(): Pulled<Out> {
    // (`take` reads through here.) One demand per read that finds nothing, however often it asks again.
    if (this.outputs.length === 0 && !this.finished && !this.takeOwed) {
      this.takeOwed = true
      this.unmet++
    }
    return super.poll()
  }

  override next(): Promise<IteratorResult<Out>> {
    if (this.outputs.length === 0 && !this.finished) this.unmet++
    return super.next()
  }

  protected override emit(item: Out): void {
    // An output answers one waiting read (a Left a fused `values()` drops answers none).
    if (this.unmet > 0 && !(this.unwrapValues && eitherKind(item) === KIND_LEFT)) {
      this.unmet--
      this.takeOwed = false
    }
    super.emit(item)
  }
}

/** The node of a pool/mix/fork stage: `buffer: 0` never pulls ahead of its reader (PacedWorkerNode). */
export function openWorkerNode(source: AnySource<unknown>, signal: AbortSignal | undefined, spec: StageSpec): WorkerNode {
  return spec.buffer === 0 ? new PacedWorkerNode(source, signal, spec) : new WorkerNode(source, signal, spec)
}
