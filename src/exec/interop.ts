import { Readable } from 'node:stream'
import { ReadableStream, CountQueuingStrategy } from 'node:stream/web'
import { checkBoolean, checkInteger, checkKeys, checkOptionsObject, fail, usageError } from './validate.js'
import { isSource } from './engine/producer.js'
import { abortError } from '../result/pipeline-error.js'
import { isError, messageOf } from '../result/describe.js'
import { KIND_LEFT, KIND_RIGHT, eitherKind } from '../result/either.js'
import { provideEnv } from './env.js'
import { closeIterator, drain, openIterator } from './drain.js'
import type { EnvOf, ValueOf } from './types.js'
import type { AnyFlow, EnvArg, EnvChecked, ItemOf } from './env-check.js'

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

/** Both stream adapters open the pipeline here: with the `env` given, and the signal (when given) handed to the first stage. */
function open<T>(flow: Iterable<T> | AsyncIterable<T>, options: ToStreamOptions<unknown>): AsyncIterator<unknown> {
  return openIterator<unknown>('env' in options ? provideEnv(flow, options.env) : flow, options.signal)
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

  /** Reads from the pipeline until the stream's buffer is full. */
  private async pull(): Promise<void> {
    try {
      this.pvIterator ??= open(this.flow, this.options)
      if (!(await drain(this.pvIterator, { accept: this.pushItem })) || this.destroyed) return
      this.pvEnded = true
      this.pvIterator = undefined
      this.push(null)
    } catch (error) {
      this.pvEnded = true
      if (!this.destroyed) this.destroy(isError(error) ? error : new Error(messageOf(error), { cause: error }))
    } finally {
      this.pvReading = false
    }
  }

  /** Pushes one item; false once the buffer is full (or the stream is gone: the item is dropped with it). */
  private readonly pushItem = (item: unknown): boolean => {
    if (this.destroyed) return false
    const value = unwrap(item)
    if (value === null) throw usageError('toReadable', 'a pipeline item is null, which a Node stream cannot carry (null ends a stream)')
    return this.push(value)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pvEnded = true
    this.options.signal?.removeEventListener('abort', this.onAbort)
    const iterator = this.pvIterator
    this.pvIterator = undefined
    if (iterator?.return === undefined) return callback(error)
    // Stops every stage: the source is closed, in-flight handlers see their signal abort.
    void closeIterator(iterator).then(() => callback(error))
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
export function toReadable<F extends AnyFlow, K extends PropertyKey = never>(flow: EnvChecked<F, K>, options?: ToStreamOptions<EnvArg<EnvOf<F>, K>>): Readable
export function toReadable(flow: AnyFlow, options: ToStreamOptions<unknown> = {}): Readable {
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
export function toReadableStream<F extends AnyFlow, K extends PropertyKey = never>(
  flow: EnvChecked<F, K>,
  options?: ToStreamOptions<EnvArg<EnvOf<F>, K>>,
): ReadableStream<ValueOf<ItemOf<F>>>
export function toReadableStream(flow: AnyFlow, options: ToStreamOptions<unknown> = {}): ReadableStream<unknown> {
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
    if (it !== undefined) await closeIterator(it)
  }
  let onAbort = (): void => {}
  // Enqueues one item; false once the queue is full (or the stream is gone: the item is dropped with it).
  const enqueue = (controller: ReadableStreamDefaultController<unknown>, item: unknown): boolean => {
    if (closed) return false
    controller.enqueue(unwrap(item) as unknown)
    return (controller.desiredSize ?? 0) > 0
  }
  return new ReadableStream<unknown>(
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
          if (!(await drain(iterator, { accept: (item) => enqueue(controller, item) })) || closed) return
          iterator = undefined
          await close()
          controller.close()
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
