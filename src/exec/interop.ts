import { Readable } from 'node:stream'
import { ReadableStream, CountQueuingStrategy } from 'node:stream/web'
import { checkBoolean, checkInteger, checkKeys, checkOptionsObject, fail } from './validate.js'
import { Node, isSource } from './engine/node.js'
import { abortError } from '../result/pipeline-error.js'
import { isError, messageOf } from '../result/describe.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind } from '../result/either.js'
import { cleanupBounds, waitAtMost } from './cleanup.js'
import { provideEnv } from './env.js'

/**
 * Options of `toReadable` and `toReadableStream`.
 *
 * @example
 * ```ts
 * const stream = toReadable(pipe(ids, pool(load, 4)), { highWaterMark: 8, env: { db }, signal: AbortSignal.timeout(30_000) })
 * ```
 */
export interface ToStreamOptions<R = unknown> {
  /**
   * How many items the stream buffers ahead of its reader (default 16 for a Node
   * `Readable` in object mode, 1 for a web `ReadableStream`). The pipeline itself
   * is pulled only when the stream wants more, so a slow reader holds back the source.
   */
  highWaterMark?: number
  /** Node `Readable` only: object mode (default `true`); `false` for a byte stream of strings/Buffers. */
  objectMode?: boolean
  /** Abort to stop the pipeline: the stream is destroyed (errored) with a `cancelled`/`timeout` `PipelineError`. */
  signal?: AbortSignal
  /** The environment every stage upstream sees as `ctx.env` (same as placing `provide(env)` last). */
  env?: R
}

const KEYS = ['highWaterMark', 'objectMode', 'signal', 'env'] as const

function parse(stage: string, flow: unknown, options: ToStreamOptions<unknown>): void {
  if (!isSource(flow)) fail(stage, 'flow', 'an AsyncIterable or Iterable (a pipeline, generator, array, …)', flow)
  checkOptionsObject(stage, 'options', options)
  checkKeys(stage, options, KEYS)
  if (options.highWaterMark !== undefined) checkInteger(stage, 'highWaterMark', options.highWaterMark, 0)
  if (options.objectMode !== undefined) checkBoolean(stage, 'objectMode', options.objectMode)
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) fail(stage, 'signal', 'an AbortSignal', options.signal)
}

/**
 * The one place both stream adapters open the pipeline: the signal (when given)
 * is handed to the first stage, which links the whole run to it.
 */
function open<T>(flow: Iterable<T> | AsyncIterable<T>, options: ToStreamOptions<unknown>): AsyncIterator<unknown> {
  const source = 'env' in options ? provideEnv(flow, options.env) : flow
  const asyncIterator = (source as { [Symbol.asyncIterator]?: (signal?: AbortSignal) => AsyncIterator<unknown> })[Symbol.asyncIterator]
  if (typeof asyncIterator === 'function') return asyncIterator.call(source, options.signal)
  const iterator = (source as Iterable<unknown>)[Symbol.iterator]()
  return {
    next: async () => iterator.next(),
    return: async () => iterator.return?.() ?? { done: true, value: undefined },
  }
}

/** A `Right` gives its value, a `Left` throws its error, anything else is itself. */
function unwrap(item: unknown): unknown {
  const kind = eitherKind(item)
  if (kind === KIND_RIGHT) return (item as { right: unknown }).right
  if (kind === KIND_LEFT) throw (item as { left: unknown }).left
  return item
}

class FlowReadable extends Readable {
  private pvIterator: AsyncIterator<unknown> | undefined
  private pvReading = false
  private pvEnded = false

  constructor(
    private readonly flow: Iterable<unknown> | AsyncIterable<unknown>,
    private readonly options: ToStreamOptions<unknown>,
  ) {
    super({ objectMode: options.objectMode ?? true, ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}) })
    const signal = options.signal
    if (signal?.aborted) this.destroy(abortError(signal))
    else signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  private readonly onAbort = (): void => {
    if (!this.destroyed) this.destroy(abortError(this.options.signal!))
  }

  override _read(): void {
    if (this.pvReading || this.pvEnded) return
    this.pvReading = true
    void this.pull()
  }

  /** Reads from the pipeline until the stream's buffer is full; one `next()` at a time. */
  private async pull(): Promise<void> {
    try {
      this.pvIterator ??= open(this.flow, this.options)
      for (;;) {
        const step = await this.pvIterator.next()
        if (this.destroyed) return
        if (step.done) {
          this.pvEnded = true
          this.pvIterator = undefined
          this.push(null)
          return
        }
        const value = unwrap(step.value)
        if (value === null) throw new TypeError('toReadable: a pipeline item is null, which a Node stream cannot carry (null ends a stream)')
        if (!this.push(value)) return
      }
    } catch (error) {
      this.pvEnded = true
      if (!this.destroyed) this.destroy(isError(error) ? error : new Error(messageOf(error), { cause: error }))
    } finally {
      this.pvReading = false
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pvEnded = true
    this.options.signal?.removeEventListener('abort', this.onAbort)
    const iterator = this.pvIterator
    this.pvIterator = undefined
    if (iterator?.return === undefined) return callback(error)
    // Stops every stage: the source is closed, in-flight handlers see their signal abort.
    let closing: Promise<unknown>
    try {
      closing = Promise.resolve(iterator.return())
    } catch {
      return callback(error)
    }
    // Our own stages bound the user cleanup they wait for; a plain async generator queues
    // return() behind a pending next() and may be slow: wait for that only briefly (see cleanup.ts).
    const waiting = iterator instanceof Node ? closing : waitAtMost(closing, cleanupBounds.stopWaitMs)
    waiting.then(
      () => callback(error),
      () => callback(error),
    )
  }
}

/**
 * A Node `Readable` (object mode by default) that reads a pipeline: it pulls an
 * item only when its buffer has room, so it keeps backpressure inside
 * `stream.pipeline` and `.pipe()`. `Right` items are unwrapped; a `Left` destroys
 * the stream with its `StageError` (put `deadLetter(…)` or `values()` before it
 * to keep going past failures). Destroying the stream, or a failure further down
 * a `stream.pipeline`, stops every stage and closes the source.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * await pipeline(
 *   toReadable(pipe(rows, pool(enrich, 8), deadLetter(console.error), pool((r) => JSON.stringify(r) + '\n'), values())),
 *   fs.createWriteStream('out.jsonl'),
 * )
 * ```
 */
export function toReadable<T, R = unknown>(flow: Iterable<T> | AsyncIterable<T>, options: ToStreamOptions<R> = {}): Readable {
  parse('toReadable', flow, options)
  return new FlowReadable(flow, options)
}

/**
 * A web `ReadableStream` that reads a pipeline, pulling an item only when the
 * stream's queue has room (backpressure). `Right` items are unwrapped; a `Left`
 * errors the stream with its `StageError`. Cancelling the stream (or its reader)
 * stops every stage and closes the source.
 *
 * @example
 * ```ts
 * const body = toReadableStream(pipe(ids, pool(loadRow, 4), pool((row) => JSON.stringify(row) + '\n')))
 * return new Response(body.pipeThrough(new TextEncoderStream()))
 * ```
 */
export function toReadableStream<T, R = unknown>(flow: Iterable<T> | AsyncIterable<T>, options: ToStreamOptions<R> = {}): ReadableStream<T extends { _tag: 'Right'; right: infer B } ? B : T extends { _tag: 'Left' } ? never : T> {
  parse('toReadableStream', flow, options)
  if (options.objectMode !== undefined) fail('toReadableStream', 'objectMode', 'left out (web streams carry any value)', options.objectMode)
  const signal = options.signal
  let iterator: AsyncIterator<unknown> | undefined
  let closed = false
  const close = async (): Promise<void> => {
    closed = true
    signal?.removeEventListener('abort', onAbort)
    const it = iterator
    iterator = undefined
    if (it?.return === undefined) return
    try {
      const returning = it.return()
      // As in FlowReadable._destroy: only what is not one of our stages gets a short bound.
      await (it instanceof Node ? returning : waitAtMost(returning, cleanupBounds.stopWaitMs))
    } catch {
      // the pipeline's own cleanup failed after the stream ended; nothing to deliver it to
    }
  }
  let onAbort = (): void => {}
  return new ReadableStream(
    {
      start(controller) {
        if (signal?.aborted) {
          closed = true
          controller.error(abortError(signal))
          return
        }
        onAbort = () => {
          if (closed) return
          controller.error(abortError(signal!))
          void close()
        }
        signal?.addEventListener('abort', onAbort, { once: true })
      },
      async pull(controller) {
        if (closed) return
        try {
          iterator ??= open(flow, options)
          const step = await iterator.next()
          if (closed) return
          if (step.done) {
            iterator = undefined
            await close()
            controller.close()
            return
          }
          controller.enqueue(unwrap(step.value) as never)
        } catch (error) {
          await close()
          controller.error(error)
        }
      },
      cancel: close,
    },
    new CountQueuingStrategy({ highWaterMark: options.highWaterMark ?? 1 }),
  )
}
