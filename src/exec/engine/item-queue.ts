/**
 * A stage's input queue: a growable ring of items, each with its sequence number
 * (its position in the stage's input: order, and `ctx.index`), kept side by side so
 * that a queued item costs one ring operation, not one per queue.
 */
export class ItemQueue {
  private items: unknown[]
  private seqs: number[]
  private head = 0
  private mask: number
  length = 0
  /** The sequence number of the item `shift` returned last. */
  seq = 0

  constructor(capacity = 8) {
    let size = 8
    while (size < capacity) size <<= 1
    this.items = new Array(size)
    this.seqs = new Array<number>(size).fill(0)
    this.mask = size - 1
  }

  push(item: unknown, seq: number): void {
    if (this.length > this.mask) this.grow()
    const at = (this.head + this.length) & this.mask
    this.items[at] = item
    this.seqs[at] = seq
    this.length++
  }

  /** The oldest item (its sequence number is then in `seq`). */
  shift(): unknown {
    const head = this.head
    const item = this.items[head]
    this.items[head] = undefined
    this.seq = this.seqs[head]!
    this.head = (head + 1) & this.mask
    this.length--
    return item
  }

  clear(): void {
    this.items.fill(undefined)
    this.head = 0
    this.length = 0
  }

  private grow(): void {
    const size = this.items.length
    const items = new Array<unknown>(size * 2)
    const seqs = new Array<number>(size * 2).fill(0)
    for (let i = 0; i < size; i++) {
      items[i] = this.items[(this.head + i) & this.mask]
      seqs[i] = this.seqs[(this.head + i) & this.mask]!
    }
    this.items = items
    this.seqs = seqs
    this.head = 0
    this.mask = size * 2 - 1
  }
}
