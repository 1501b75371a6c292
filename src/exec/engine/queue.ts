/**
 * A growable ring buffer. Stages move every item through one of these, so it
 * avoids `Array#shift` (O(n)) and allocates only when it has to grow.
 */
export class Queue<T> {
  private items: (T | undefined)[]
  private head = 0
  private mask: number
  length = 0

  constructor(capacity = 8) {
    let size = 8
    while (size < capacity) size <<= 1
    this.items = new Array(size)
    this.mask = size - 1
  }

  push(item: T): void {
    if (this.length > this.mask) this.grow()
    this.items[(this.head + this.length) & this.mask] = item
    this.length++
  }

  shift(): T {
    const item = this.items[this.head] as T
    this.items[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.length--
    return item
  }

  peek(): T {
    return this.items[this.head] as T
  }

  /** The item `i` places from the front (0 is the front), left in place. */
  at(i: number): T {
    return this.items[(this.head + i) & this.mask] as T
  }

  /** Removes and returns the item `i` places from the front (the ones behind it move up). */
  removeAt(i: number): T {
    const item = this.at(i)
    for (let j = i; j < this.length - 1; j++) this.items[(this.head + j) & this.mask] = this.items[(this.head + j + 1) & this.mask]
    this.items[(this.head + this.length - 1) & this.mask] = undefined
    this.length--
    return item
  }

  clear(): void {
    this.items.fill(undefined)
    this.head = 0
    this.length = 0
  }

  private grow(): void {
    const old = this.items
    const size = old.length
    const next = new Array<T | undefined>(size * 2)
    for (let i = 0; i < size; i++) next[i] = old[(this.head + i) & this.mask]
    this.items = next
    this.head = 0
    this.mask = size * 2 - 1
  }
}
