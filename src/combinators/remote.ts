import type { ConnectionOptions } from 'bullmq'
import { checkFunction, checkNumber, checkOptionsObject, fail, usageError } from '../exec/validate.js'
import { taggedJson, type Codec } from '../exec/remote/codec.js'
import { remoteHandler } from '../exec/remote/remote-runner.js'
import type { Operator, StageInput, StageOutput } from '../exec/types.js'
import { MAX_TIMER_MS } from './stage-options.js'
import { pool, type PoolOptions } from './pool.js'

/** `pool`'s options that `RemoteOptions` documents for the remote case. */
type RemoteDocumented = 'concurrency' | 'retries' | 'ordered' | 'timeout'

/**
 * Options of `remote`: its own (Redis), and `pool`'s but `init`, `dispose` and `fork` (which belong to `serve`).
 *
 * @example
 * ```ts
 * import { remote } from 'pipevine/bullmq'
 * const pages = remote<string, string>('pages', { connection: { host: '127.0.0.1', port: 6379 }, concurrency: 64, timeout: 30_000, retries: 1, ordered: true })
 * ```
 */
export interface RemoteOptions extends Omit<PoolOptions, 'init' | 'dispose' | 'fork' | RemoteDocumented> {
  /** BullMQ's connection: `{ host, port, … }` or a client instance. */
  connection: ConnectionOptions
  /** Jobs of this stage in Redis at once, waiting plus active (default 1): the stage's backpressure toward the queue. Takes what `pool`'s does. */
  concurrency?: PoolOptions['concurrency']
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

/** The options only `remote` has; the rest are `pool`'s, which `remote` hands on (see `remote`). */
const REMOTE_ONLY_KEYS = ['connection', 'codec', 'prefix', 'reconnectMs', 'jobName']
/** `pool`'s options that have no meaning here: they run where the handler is served (see `serve`). */
const SERVED_KEYS = ['init', 'dispose', 'fork']

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
  const { connection, codec = taggedJson, prefix, reconnectMs = 30_000, jobName, ...poolOptions } = options
  for (const key of SERVED_KEYS) if (key in options) throw usageError('remote', `unknown option \`${key}\` (it belongs to serve(), where the handler runs)`)
  if (typeof connection !== 'object' || connection === null) fail('remote', 'connection', "BullMQ's connection ({ host, port, … } or a client instance)", connection)
  if (typeof codec !== 'object' || codec === null) fail('remote', 'codec', 'an object with encode and decode', codec)
  checkFunction('remote', 'codec.encode', codec.encode)
  checkFunction('remote', 'codec.decode', codec.decode)
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0)) fail('remote', 'prefix', 'a non-empty string', prefix)
  checkNumber('remote', 'reconnectMs', reconnectMs, 0)
  if (!(reconnectMs <= MAX_TIMER_MS)) fail('remote', 'reconnectMs', `at most ${MAX_TIMER_MS}`, reconnectMs)
  // Unbounded, it would put the whole input in Redis at once.
  if (poolOptions.concurrency === Infinity) fail('remote', 'concurrency', 'a finite number of jobs', Infinity)
  const name = poolOptions.name ?? queue
  const job = jobName ?? name
  if (typeof job !== 'string' || job.length === 0) fail('remote', 'jobName', 'a non-empty string', job)
  const handler = remoteHandler({ queue, connection, prefix, codec, reconnectMs, jobName: job })
  // Every other option is pool's (concurrency, retries, ordered, timeout, buffer, name, and its limits): pool parses them, as remote's.
  return asRemote(() => pool(handler, { ...poolOptions, name })) as Operator<StageInput<A>, StageOutput<B>>
}

/** Runs `make`, naming `remote` in its usage errors (they come from `pool`, which `remote` runs on). */
function asRemote<T>(make: () => T): T {
  try {
    return make()
  } catch (error) {
    if (error instanceof TypeError && error.message.startsWith('pool: ')) {
      const message = error.message.slice('pool: '.length)
      const known = (list: string): string => `(known options: ${[...list.split(', ').filter((key) => !SERVED_KEYS.includes(key)), ...REMOTE_ONLY_KEYS].join(', ')})`
      throw usageError('remote', message.replace(/\(known options: ([^)]*)\)/, (_, list: string) => known(list)))
    }
    throw error
  }
}
