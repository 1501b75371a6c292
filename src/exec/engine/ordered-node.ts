import type { Either } from 'fp-ts/lib/Either.js'
import type { StageError } from '../../result/stage-error.js'
import { Node } from './node.js'
import type { AnySource } from './producer.js'

export type Out = Either<StageError, unknown>

const HOLE: unique symbol = Symbol('hole')
/** A slot whose item left the stage as nothing (a handler's `skip`): the head moves past it, emitting nothing. */
const PASSED = Symbol('passed') as unknown as Out
/** The ordered ring's first size; it grows as results wait behind slower ones. */
const RING_START = 16
/** A stage without a limit on items in flight pulls at most this many items per turn of the event loop. */
const PULLS_PER_TURN = 4096

/**
 * What the stages that hold several items at once (pool/mix/fork's WorkerNode,
 * retry's RetryNode) share: output in input order when asked (results wait in a
 * ring indexed by sequence number), and the halt that starts nothing until the
 * next turn once a `Left` that may end the run has left.
 */
export abstract class OrderedNode extends Node<Out> {
  // Ordered output: results waiting for earlier ones, in a ring indexed by sequence number. It
  // starts small and doubles when a result lands further ahead than it reaches (see `deliver`).
  private ring: (Out | typeof HOLE)[] | undefined
  /** The ring's size minus one: its size is a power of two, so a slot is a mask away (no division per item). */
  private mask = 0
  private head = 0
  /** Results waiting in the ring for earlier ones. */
  protected waiting = 0
  /** Emitted a `Left` that may end the run (see RunState.haltOnLeft): start nothing until `resume`. */
  protected halted = false

  constructor(source: AnySource<unknown>, signal: AbortSignal | undefined, ordered: boolean, cap: number) {
    super(source, signal)
    if (ordered) {
      let size = 2
      while (size < Math.min(cap, RING_START)) size <<= 1
      this.ring = new Array<Out | typeof HOLE>(size).fill(HOLE)
      this.mask = size - 1
    }
  }

  protected deliver(seq: number, result: Out): void {
    if (this.ring === undefined) return this.emit(result)
    if (seq !== this.head) return this.deliverAhead(seq, result)
    // `emit` can wake the consumer, which pulls, which can deliver here again (and grow the ring): the head moves first.
    this.head++
    if (result !== PASSED) this.emit(result)
    if (this.waiting > 0) this.emitWaiting()
  }

  /** Result `seq` came before an earlier one: it waits in the ring. */
  private deliverAhead(seq: number, result: Out): void {
    const ring = this.ring!
    if (seq - this.head >= ring.length) return this.deliverFar(seq, result)
    ring[seq & this.mask] = result
    this.waiting++
  }

  /** Emits the results that waited for the one just out, up to the next gap. */
  private emitWaiting(): void {
    for (;;) {
      const ring = this.ring!
      const slot = this.head & this.mask
      const next = ring[slot]!
      if (next === HOLE) break
      ring[slot] = HOLE
      this.waiting--
      this.head++
      if (next !== PASSED) this.emit(next)
    }
  }

  /** Item `seq` leaves as nothing (skipped): with ordered output, the items behind it must not wait for it. */
  protected deliverNothing(seq: number): void {
    if (this.ring !== undefined) this.deliver(seq, PASSED)
  }

  /** A result further ahead of the head than the ring reaches: double it (or more), keeping each waiting result at its sequence number. */
  private deliverFar(seq: number, result: Out): void {
    const old = this.ring!
    let size = old.length * 2
    while (size <= seq - this.head) size *= 2
    const ring = new Array<Out | typeof HOLE>(size).fill(HOLE)
    for (let s = this.head; s < this.head + old.length; s++) ring[s & (size - 1)] = old[s & this.mask]!
    this.ring = ring
    this.mask = size - 1
    this.deliver(seq, result)
  }

  /** The stage stopped: what waited for order is dropped. */
  protected dropWaiting(): void {
    if (this.ring !== undefined) this.ring.fill(HOLE)
    this.waiting = 0
  }

  /**
   * With no limit on items in flight (`concurrency: Infinity`), `buffer + concurrency` bounds
   * nothing: the stage starts every item it can pull, as p-map does, but stops pulling while
   * more than `buffer` items wait (queued, for order, or for the consumer), and lets the event
   * loop run every PULLS_PER_TURN pulls (it would drain a synchronous source in one go).
   */
  protected unboundedFull(queued: number, buffer: number, pulls: number): boolean {
    if (queued + this.waiting + this.outputs.length > buffer) return true
    if (pulls <= PULLS_PER_TURN) return false
    this.halt()
    return true
  }

  /*
   * Starts nothing until the next turn of the event loop. For p-map's promise:
   * once the failure that ends the run is decided, no handler starts for another
   * item. Whoever decides (run's tally, orThrow, values with failFast) sees the
   * Left after it leaves here, possibly a few promise hops away (an IxJS operator
   * between), and by the next turn the run has ended or has let the Left pass.
   * Also lets the event loop run between sweeps of an unbounded stage.
   */
  protected halt(): void {
    if (this.halted) return
    this.halted = true
    setImmediate(this.resume)
  }

  private readonly resume = (): void => {
    this.halted = false
    this.pump()
  }
}
