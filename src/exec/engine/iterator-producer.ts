import { scopeOf } from '../scope.js'
import { waitForCleanup } from '../cleanup.js'
import { silentLogger } from '../logger.js'
import { EMPTY, END, isOpenable, kOpen, type AnySource, type Producer, type Pulled, type Wakeable } from './producer.js'

/** The Producer of `source`: its own, for one of our stages, or an adapter over its iterator. */
export function openProducer<T>(source: AnySource<T>, signal: AbortSignal): Producer<T> {
  if (isOpenable<T>(source)) return source[kOpen](signal)
  return new IteratorProducer(source, signal)
}

const arrayValues = Array.prototype[Symbol.iterator]

/**
 * Adapts any (async) iterable to the Producer protocol. It pulls only when a
 * consumer with room asks, so it never reads ahead of what the stage can hold.
 */
export class IteratorProducer<T> implements Producer<T> {
  /** An array read by index, as its own iterator would read it, without a result object per item. */
  private readonly array: readonly T[] | undefined
  private index = 0
  private readonly sync: Iterator<T> | undefined
  private readonly async: AsyncIterator<T> | undefined
  private listener: Wakeable | null = null
  /** An iterator says EMPTY only while a read is under way, and wakes when it settles: see Producer.owesWake. */
  readonly owesWake = false
  private pending = false
  private hasValue = false
  private value: T | undefined
  private done = false
  private failed = false
  private error: unknown
  private closed = false
  // Bound methods, not arrow functions: one of those is compiled per producer, so per run (see Worker).
  private readonly onResult: (result: IteratorResult<T>) => void
  private readonly onError: (error: unknown) => void

  constructor(
    source: AnySource<T>,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.onResult = this.resultArrived.bind(this)
    this.onError = this.errorArrived.bind(this)
    if (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
      this.async = (source as AsyncIterable<T> & { [Symbol.asyncIterator](signal?: AbortSignal): AsyncIterator<T> })[Symbol.asyncIterator](signal)
    } else if (Array.isArray(source) && source[Symbol.iterator] === arrayValues) {
      this.array = source
    } else {
      this.sync = (source as Iterable<T>)[Symbol.iterator]()
    }
  }

  listen(consumer: Wakeable): void {
    this.listener = consumer
  }

  take(): Pulled<T> {
    if (this.hasValue) {
      const value = this.value as T
      this.hasValue = false
      this.value = undefined
      return value
    }
    if (this.failed) throw this.error
    if (this.done || this.closed) return END
    // (Each kind of source is read by a method of its own: V8 inlines `take` into every first stage, within a budget.)
    if (this.array !== undefined) return this.takeFromArray(this.array)
    return this.sync !== undefined ? this.takeFromIterator(this.sync) : this.takeFromAsync()
  }

  private takeFromArray(array: readonly T[]): Pulled<T> {
    try {
      if (this.index < array.length) return array[this.index++]!
    } catch (error) {
      // An element or a length behind a getter or a Proxy trap that throws.
      return this.fail(error)
    }
    this.done = true
    return END
  }

  private takeFromIterator(iterator: Iterator<T>): Pulled<T> {
    let result: IteratorResult<T>
    try {
      result = iterator.next()
    } catch (error) {
      return this.fail(error)
    }
    if (result.done) {
      this.done = true
      return END
    }
    return result.value
  }

  private takeFromAsync(): Pulled<T> {
    if (!this.pending) {
      this.pending = true
      let promise: Promise<IteratorResult<T>>
      try {
        promise = this.async!.next()
      } catch (error) {
        this.pending = false
        return this.fail(error)
      }
      promise.then(this.onResult, this.onError)
    }
    return EMPTY
  }

  private fail(error: unknown): never {
    this.failed = true
    this.error = error
    throw error
  }

  private resultArrived(result: IteratorResult<T>): void {
    this.pending = false
    if (this.closed) return
    if (result.done) this.done = true
    else {
      this.hasValue = true
      this.value = result.value
    }
    this.listener?.wake()
  }

  private errorArrived(error: unknown): void {
    this.pending = false
    if (this.closed) return
    this.failed = true
    this.error = error
    this.listener?.wake()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.hasValue = false
    this.value = undefined
    if (this.done || this.failed) return
    let returning: unknown
    try {
      // With a next() pending, an async generator runs return() (its `finally`) only once that next() settles.
      returning = this.array !== undefined ? undefined : this.sync ? this.sync.return?.() : this.async!.return?.()
    } catch {
      return // A source's cleanup error has no one left to report to.
    }
    if (this.async !== undefined && typeof (returning as PromiseLike<unknown> | undefined)?.then === 'function') {
      const log = scopeOf(this.signal)?.run.log ?? silentLogger
      // Only a stop closes the source: wait for it briefly (see exec/cleanup.ts).
      await waitForCleanup(returning as PromiseLike<unknown>, log, "[source] return() (an async generator's `finally`)", true)
    }
  }
}
