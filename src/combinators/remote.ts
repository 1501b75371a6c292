import type { ConnectionOptions } from 'bullmq'
import { checkFunction, checkInteger, checkKeys, checkNumber, checkOptionsObject, fail } from '../exec/validate.js'
import { taggedJson, type Codec } from '../exec/remote/codec.js'
import { remoteHandler } from '../exec/remote/remote-runner.js'
import type { Operator, StageInput, StageOutput } from '../exec/types.js'
import { MAX_TIMER_MS, parseWorkerOptions } from './stage-options.js'
import { pool } from './pool.js'
import type { StageOptions } from './types.js'

/**
 * Options of `remote`.
 *
 * @example
 * ```ts
 * import { remote } from 'pipevine/bullmq'
 * const pages = remote<string, string>('pages', { connection: { host: '127.0.0.1', port: 6379 }, concurrency: 64, timeout: 30_000, retries: 1, ordered: true })
 * ```
 */
export interface RemoteOptions extends StageOptions {
  /** BullMQ's connection: `{ host, port, … }` or a client instance. */
  connection: ConnectionOptions
  /** Jobs of this stage in Redis at once, waiting plus active (default 1): the stage's backpressure toward the queue. */
  concurrency?: number
  /** Extra attempts, each a new job, before the item becomes a `Left` (default 0). */
  retries?: number
  /** Emit in source order (default false: as results arrive). */
  ordered?: boolean
  /** Milliseconds per attempt, kept where the handler runs: its signal aborts and the attempt fails with a `TimeoutError`. */
  timeout?: number
  /** How items and results cross (default {@link taggedJson}); `serve` must use the same. */
  codec?: Codec
  /** BullMQ's key prefix (default `bull`); `serve` must use the same. */
  prefix?: string
  /** How long a run waits for Redis to come back before it fails with a PipelineError of kind `unavailable` (ms, default 30,000). */
  reconnectMs?: number
  /** The BullMQ job name (default: the stage's name). */
  jobName?: string
}

const REMOTE_KEYS = ['name', 'buffer', 'connection', 'concurrency', 'retries', 'ordered', 'timeout', 'codec', 'prefix', 'reconnectMs', 'jobName']

/**
 * A stage whose handler runs in other processes or machines, on a BullMQ queue
 * served by `serve(queue, handler, …)`. It is `pool` over Redis: `Either` items,
 * `retries`, `ordered`, per-attempt `timeout`, the report, cancellation, and a
 * downstream `retry` runs an item again. It keeps at most `concurrency` jobs of
 * its run in Redis; each job is removed as its result arrives, and an ending
 * (cancel, kill, `break`, `failFast`) removes or aborts the rest.
 *
 * Execution is at-least-once (a job whose worker died runs again elsewhere);
 * emission is exactly once per item.
 *
 * @example
 * ```ts
 * import { remote } from 'pipevine/bullmq'
 * const connection = { host: '127.0.0.1', port: 6379 }
 * const pages = pipe(urls, remote<string, string>('pages', { connection, concurrency: 64, timeout: 30_000 }), retry(2))
 * ```
 */
export function remote<A, B>(queue: string, options: RemoteOptions): Operator<StageInput<A>, StageOutput<B>> {
  if (typeof queue !== 'string' || queue.length === 0 || queue.includes(':')) fail('remote', 'queue', 'a non-empty queue name without ":"', queue)
  checkOptionsObject('remote', 'options', options)
  checkKeys('remote', options, REMOTE_KEYS)
  const { connection, concurrency = 1, retries = 0, ordered = false, timeout, codec = taggedJson, prefix, reconnectMs = 30_000, name = queue, buffer = 1, jobName = name } = options
  if (typeof connection !== 'object' || connection === null) fail('remote', 'connection', "BullMQ's connection ({ host, port, … } or a client instance)", connection)
  checkInteger('remote', 'concurrency', concurrency, 1)
  if (typeof codec !== 'object' || codec === null) fail('remote', 'codec', 'an object with encode and decode', codec)
  checkFunction('remote', 'codec.encode', codec.encode)
  checkFunction('remote', 'codec.decode', codec.decode)
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0)) fail('remote', 'prefix', 'a non-empty string', prefix)
  checkNumber('remote', 'reconnectMs', reconnectMs, 0)
  if (!(reconnectMs <= MAX_TIMER_MS)) fail('remote', 'reconnectMs', `at most ${MAX_TIMER_MS}`, reconnectMs)
  if (typeof jobName !== 'string' || jobName.length === 0) fail('remote', 'jobName', 'a non-empty string', jobName)
  parseWorkerOptions('remote', { name, buffer, retries, ordered, timeout }, [])
  const handler = remoteHandler({ queue, connection, prefix, codec, reconnectMs, jobName })
  // `pool` checks name, buffer, retries, ordered and timeout, and runs the stage on the remote runners.
  return pool(handler, { concurrency, retries, ordered, timeout, name, buffer }) as Operator<StageInput<A>, StageOutput<B>>
}
