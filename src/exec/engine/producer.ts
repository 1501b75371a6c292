/*
 * The internal protocol between stages. A downstream stage does not `await`
 * its upstream item by item: it calls `take()`, which hands over an item that is
 * ready now (synchronously), or says EMPTY and promises a `wake()` later. Items
 * therefore cross stage boundaries without a promise each, and a chain of stages
 * whose handlers are synchronous runs as one synchronous loop per consumer read.
 */
export const EMPTY: unique symbol = Symbol('pipevine.empty')
export const END: unique symbol = Symbol('pipevine.end')
export type Pulled<T> = T | typeof EMPTY | typeof END

export interface Wakeable {
  wake(): void
}

export interface Producer<T> {
  /** An item that is ready now, or EMPTY (a `wake()` follows), or END. Throws the producer's failure. */
  take(): Pulled<T>
  /**
   * Set when the last `take` left nothing ready (or said EMPTY): a `wake()` comes
   * before there is more, so the consumer need not take again until then. Saves
   * the take per item that would only find the stage above still at work.
   */
  readonly owesWake: boolean
  /** Sets the one consumer that `wake()` is called on. */
  listen(consumer: Wakeable): void
  /** Stops producing, closes everything upstream; resolves once cleanup is done. */
  close(): Promise<void>
}

/** Marks sources that can hand out a Producer directly. */
export const kOpen: unique symbol = Symbol.for('pipevine.open')

export interface Openable<T> {
  [kOpen](signal?: AbortSignal): Producer<T>
}

export function isOpenable<T>(source: unknown): source is Openable<T> {
  return typeof source === 'object' && source !== null && typeof (source as Partial<Openable<T>>)[kOpen] === 'function'
}

export type AnySource<T> = Iterable<T> | AsyncIterable<T>

export function isSource(value: unknown): value is AnySource<unknown> {
  try {
    return (
      value != null &&
      (typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
    )
  } catch {
    return false // a revoked Proxy
  }
}
