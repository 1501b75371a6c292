import { transfer as comlinkTransfer, wrap, type Remote } from 'comlink'
import { Worker as NodeWorker, type ResourceLimits } from 'node:worker_threads'
import { isDataCloneError, nodeEndpoint } from './thread-endpoint.js'
import { threadCounters, type HostOptions } from './thread-job.js'
import { LOG_KEY, PROGRESS_BYTES, SALVAGE_KEY, cloneable, toWire, type LogMessage, type SalvageMessage, type Batch, type InitInfo, type InitReply, type Reply, type ThreadApi, type Transferable } from './thread-protocol.js'

/** What a started thread reports. */
export interface ConnectionEvents {
  exited(code: number, crash: unknown): void
  /** A message from the thread could not be read. */
  unreadable(error: unknown): void
  /** A thread exiting mid-batch sent what the batch's finished items gave. */
  salvaged(message: SalvageMessage): void
}

const noop = (): void => {}

/**
 * One started worker thread: the Node Worker, comlink's proxy to what it
 * exposes, and the progress buffer it writes (the item it runs and when it
 * started it, and whether its module has loaded). Its calls settle only while
 * it lives; its death is reported by `exited`, never learnt from a call.
 */
export class ThreadConnection {
  private readonly worker: NodeWorker
  private readonly remote: Remote<ThreadApi>
  private readonly runFn: Remote<ThreadApi>['run']
  private readonly abortFn: Remote<ThreadApi>['abort']
  private readonly progress = new SharedArrayBuffer(PROGRESS_BYTES)
  private readonly progressIds = new Int32Array(this.progress, 0, 1)
  private readonly progressTimes = new Float64Array(this.progress, 8, 1)
  private readonly loadedFlag = new Int32Array(this.progress, 4, 1)
  /** Why the last post failed: comlink posts synchronously, inside the call, and the endpoint sees the error. */
  private postError: unknown = undefined
  private refd = true

  constructor(
    private readonly options: HostOptions,
    events: ConnectionEvents,
  ) {
    const { entry, index, stage } = options
    const workerOptions = { name: `pipevine ${stage} #${index}`, ...options.worker }
    // Node 20 does not pass tsx's loader on to worker threads: register it there first (see thread-entry.ts).
    const worker = entry.tsx
      ? new NodeWorker(`import(${JSON.stringify(entry.tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry.url.href)}) })`, {
          ...workerOptions,
          eval: true,
        })
      : new NodeWorker(entry.url, workerOptions)
    threadCounters.live++
    threadCounters.spawned++
    this.worker = worker
    let crash: unknown
    worker.on('error', (error) => {
      crash ??= namedLimit(error, options.worker?.resourceLimits)
    })
    worker.on('exit', (code) => {
      threadCounters.live--
      events.exited(code, crash)
    })
    worker.on('messageerror', (error) => events.unreadable(error))
    this.remote = wrap<ThreadApi>(nodeEndpoint(worker, { own: (message) => (SALVAGE_KEY in message ? events.salvaged(message) : this.logged(message)), postFailed: (error) => (this.postError = error) }))
    this.runFn = this.remote.run
    this.abortFn = this.remote.abort
  }

  /** A log line from `ctx.log` in the thread. */
  private logged({ [LOG_KEY]: level, message, details }: LogMessage): void {
    const log = this.options.log
    if (typeof log[level] === 'function') log[level](message, ...details)
  }

  /**
   * Sends `init`: what to load, and the env, cloned once per thread. An env that
   * can't be cloned whole is sent without the keys that can't (reading one in
   * the thread says why), and logged once per stage.
   */
  init(): Promise<InitReply> {
    const { target, env, seed, index, stage, transfer, group, log } = this.options
    const info: InitInfo = { ...target, env, seed, index, stage, progress: this.progress, transfer }
    this.postError = undefined
    const sent = this.remote.init(info)
    if (this.postError === undefined || !isDataCloneError(this.postError)) return sent
    sent.then(noop, noop)
    this.postError = undefined
    const { kept, dropped } = cloneableEnv(env)
    if (dropped !== undefined && !group.envLogged) {
      group.envLogged = true
      log.warn(`[${stage}] ctx.env keys not available in worker threads (they can't be cloned): ${Object.keys(dropped).join(', ')}`)
    }
    return this.remote.init({ ...info, env: kept, envDropped: dropped, seed: cloneable(seed) ? seed : undefined })
  }

  /** Sends a batch; undefined when it could not be cloned (`sendError` says why): then nothing left. */
  run(batch: Batch, transfers: Set<Transferable> | undefined): Promise<Reply> | undefined {
    this.postError = undefined
    const call = this.runFn(transfers !== undefined ? comlinkTransfer(batch, [...transfers]) : batch)
    if (this.postError === undefined) return call
    call.then(noop, noop)
    return undefined
  }

  get sendError(): unknown {
    return this.postError
  }

  /** Aborts those items' signals in the thread; settles once the thread has done so. */
  abort(ids: number[], reason: unknown): Promise<void> {
    return this.abortFn(ids, toWire(reason))
  }

  /** The id of the item the thread is running, or minus the last one's when it runs none. */
  runningId(): number {
    return Atomics.load(this.progressIds, 0)
  }

  /** When the running item started, epoch ms. */
  startedAt(): number {
    return this.progressTimes[0]!
  }

  /** The module has loaded (set in the thread before `init`'s reply could arrive). */
  get loaded(): boolean {
    return Atomics.load(this.loadedFlag, 0) === 1
  }

  ref(want: boolean): void {
    if (want === this.refd) return
    this.refd = want
    if (want) this.worker.ref()
    else this.worker.unref()
  }

  onExit(listener: () => void): void {
    this.worker.once('exit', listener)
  }

  terminate(): Promise<void> {
    return this.worker.terminate().then(noop, noop)
  }
}

/** The env, or the part of it that can be cloned, with why each other key was left out. */
export function cloneableEnv(env: unknown): { kept: unknown; dropped: Record<string, string> | undefined } {
  if (cloneable(env)) return { kept: env, dropped: undefined }
  if (typeof env !== 'object' || env === null) return { kept: undefined, dropped: { '(env)': `a ${typeof env} can't be cloned` } }
  const kept: Record<string, unknown> = {}
  const dropped: Record<string, string> = {}
  for (const key of Object.keys(env)) {
    const value = (env as Record<string, unknown>)[key]
    if (cloneable(value)) kept[key] = value
    else dropped[key] = typeof value === 'function' ? "a function can't be cloned into a worker thread" : "it holds something that can't be cloned into a worker thread (a function, a symbol, a handle…)"
  }
  return { kept, dropped }
}

/** A thread stopped by its `resourceLimits`: the error names the limits it had. */
function namedLimit(error: Error, limits: ResourceLimits | undefined): Error {
  if ((error as { code?: unknown }).code !== 'ERR_WORKER_OUT_OF_MEMORY' || limits === undefined) return error
  const named = Object.entries(limits).map(([key, value]) => `${key}: ${value}`).join(', ')
  return Object.assign(new Error(`${error.message} (resourceLimits { ${named} })`, { cause: error }), { code: 'ERR_WORKER_OUT_OF_MEMORY' })
}
