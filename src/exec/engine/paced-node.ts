import { KIND_LEFT, eitherKind } from '../../result/either.js'
import type { AnySource } from './producer.js'
import { OrderedNode, type Out } from './ordered-node.js'

/**
 * The demand side of a pool/mix/fork stage with `buffer: 0`, which never pulls
 * ahead of its reader. It takes an item from upstream only for a read that is
 * waiting for one (a `next()` not yet answered, or a downstream stage's `take` that
 * found nothing), so each item it pulls was asked for — for sources where reading
 * ahead is itself a side effect (a queue that hands out leases, a cursor that marks
 * rows as read). It runs at most as many items at once as there are reads waiting:
 * one for a `for await`. A base of WorkerNode rather than a subclass: a class of
 * stage more would make the engine's shared methods megamorphic (see TransformNode).
 */
export abstract class PacedOutputs extends OrderedNode {
  /** With `buffer: 0` (`paced`): reads waiting for an item; the stage pulls only while it holds fewer. */
  protected unmet = 0
  /** The downstream stage's `take` found nothing: its demand stands until an output comes. */
  private takeOwed = false

  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, ordered: boolean, cap: number, paced: boolean) {
    super(source, signal, ordered, cap)
    this.paced = paced
  }

  /** A take found nothing (`take` reads through `poll`): one demand per such read, however often it asks again. */
  protected override demandFromTake(): void {
    if (this.takeOwed) return
    this.takeOwed = true
    this.unmet++
  }

  /** A `next()` found nothing. */
  protected override demandFromRead(): void {
    this.unmet++
  }

  /** An output answers one waiting read (a Left a fused `values()` drops answers none). */
  protected override demandAnswered(item: Out): void {
    if (this.unmet > 0 && !(this.unwrapValues && eitherKind(item) === KIND_LEFT)) {
      this.unmet--
      this.takeOwed = false
    }
  }
}
