/**
 * pipevine/bullmq: one stage of a pipeline, scaled out over processes and
 * machines on a BullMQ queue (Redis). `remote(queue, options)` is the stage on the
 * pipeline's side; `serve(queue, handler, options)` runs the handler in each
 * worker process. Needs the optional peer dependency `bullmq` (and its Redis
 * client, `ioredis`).
 *
 * @example
 * ```ts
 * import { remote, serve } from 'pipevine/bullmq'
 * const connection = { host: '127.0.0.1', port: 6379 }
 * // each worker process:
 * const worker = serve('pages', fetchPage, { connection, concurrency: 8 })
 * // the pipeline's process:
 * const report = await run(pipe(urls, remote<string, string>('pages', { connection, concurrency: 64 }), retry(2)))
 * await worker.close()
 * ```
 * @packageDocumentation
 */
export { remote, type RemoteOptions } from './combinators/remote.js'
export { serve, type ServeOptions, type ServeHandle } from './exec/remote/serve.js'
export type { RemoteContext } from './exec/remote/serve-slots.js'
export { taggedJson, UnsendableError, type Codec } from './exec/remote/codec.js'
