/**
 * A stage's input queue: a growable ring of items, each with its sequence number
 * (its position in the stage's input: order, and `ctx.index`). The two are
 * interleaved in one array (slot `i` is `ring[2i]`, the item, and `ring[2i + 1]`,
 * its number), so a queued item costs one ring operation and one array, not one
 * per queue.
 */
export class ItemQueue {
  private ring: unknown[]
  /** The first slot. */
  private head = 0
  /** Slots minus one (the slot count is a power of two). */
  private mask: number
  length = 0
  /** The sequence number of the item `shift` returned last. */
  seq = 0

  constructor(capacity = 8) {
    let slots = 8
    while (slots < capacity) slots <<= 1
    this.ring = new Array(slots * 2).fill(0)
    this.mask = slots - 1
  }

  push(item: unknown, seq: number): void {
    if (this.length > this.mask) this.grow()
    const at = ((this.head + this.length) & this.mask) << 1
    this.ring[at] = item
    this.ring[at + 1] = seq
    this.length++
  }

  /** The oldest item (its sequence number is then in `seq`). */
  shift(): unknown {
    const at = this.head << 1
    const item = this.ring[at]
    this.seq = this.ring[at + 1] as number
    this.ring[at] = 0 // the slot lets go of the item
    this.head = (this.head + 1) & this.mask
    this.length--
    return item
  }

  /** Lets go of every item. */
  clear(): void {
    this.ring.fill(0)
    this.length = this.head = 0
  }

  private grow(): void {
    const slots = this.mask + 1
    const ring = new Array(slots * 4).fill(0)
    for (let i = 0; i < slots; i++) {
      const from = ((this.head + i) & this.mask) << 1
      ring[i << 1] = this.ring[from]
      ring[(i << 1) + 1] = this.ring[from + 1]
    }
    this.ring = ring
    this.head = 0
    this.mask = slots * 2 - 1
  }
}
