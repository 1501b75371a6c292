import { messageOf } from '../../result/stage-error.js'
import { ThreadError, type Job } from './thread-job.js'
import { THROWN, cloneable, collectTransfers, type Batch, type Transferable } from './thread-protocol.js'

/**
 * How many items go in a batch: about `batchMs` of work, at most `maxBatch`,
 * from how long items took in the thread (each reply says how long its batch
 * took; a moving average smooths it). It starts at 1, so a lone item is never
 * held back waiting for company.
 */
export class BatchSizer {
  size = 1
  private itemMs = -1

  constructor(
    private readonly batchMs: number,
    private readonly maxBatch: number,
  ) {}

  /** A batch of `count` items kept the thread busy `busyMs`. */
  sample(busyMs: number, count: number): void {
    const sample = busyMs / count
    this.itemMs = this.itemMs < 0 ? sample : this.itemMs * 0.7 + sample * 0.3
    this.size = Math.max(1, Math.min(this.maxBatch, Math.floor(this.batchMs / Math.max(this.itemMs, 0.0005))))
  }
}

export interface Outgoing {
  readonly batch: Batch
  /** What to move rather than copy (undefined: nothing). */
  readonly transfers: Set<Transferable> | undefined
}

/**
 * The batch for `jobs`, with consecutive ids from `first`. With `collect`, it
 * moves what `transfer()` marked in the items, and with `auto` (the `transfer`
 * option) any whole buffer found in them.
 */
export function batchOf(jobs: readonly Job[], first: number, collect: boolean, auto: boolean): Outgoing {
  const items = new Array<unknown>(jobs.length)
  let attempts: number[] | undefined
  let transfers: Set<Transferable> | undefined
  // Positions are sent as one number while they are consecutive (the usual case), else as an array.
  const indexFrom = jobs.length > 0 ? (jobs[0]!.index ?? 0) : 0
  let indexes: number[] | undefined
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!
    items[i] = job.item
    const index = job.index ?? 0
    if (indexes !== undefined) indexes[i] = index
    else if (index !== indexFrom + i) {
      indexes = new Array<number>(jobs.length)
      for (let j = 0; j < i; j++) indexes[j] = indexFrom + j
      indexes[i] = index
    }
    if (job.attempt !== 1) (attempts ??= new Array<number>(jobs.length).fill(1))[i] = job.attempt
    if (collect && typeof job.item === 'object' && job.item !== null) collectTransfers(job.item, auto, (transfers ??= new Set()))
  }
  const batch: Batch = { first, items, attempts, indexes, indexFrom }
  return { batch, transfers: transfers !== undefined && transfers.size > 0 ? transfers : undefined }
}

/**
 * A batch could not be cloned (`error`), so it never left: the items that
 * can't be cloned fail with an `unsendable` ThreadError. Returns the others, to
 * send again without transfers; undefined when none are left or, already sent
 * without transfers, they would fail the same way (then they fail too).
 */
export function sendable(jobs: Job[], error: unknown, withTransfers: boolean, where: { stage: string; index: number }): Job[] | undefined {
  const good: Job[] = []
  const { stage, index } = where
  for (const job of jobs) {
    if (cloneable(job.item)) good.push(job)
    else {
      const why = `${messageOf(error)} (items cross by structured clone: no functions, symbols or class instances with private state)`
      job.client.jobDone(job, THROWN, new ThreadError('unsendable', `stage "${stage}": the item could not be sent to worker thread ${index}: ${why}`, { cause: error }))
    }
  }
  if (good.length === 0) return undefined
  if (good.length === jobs.length && !withTransfers) {
    for (const job of good) job.client.jobDone(job, THROWN, new ThreadError('unsendable', `stage "${stage}": a batch could not be sent to worker thread ${index}: ${messageOf(error)}`, { cause: error }))
    return undefined
  }
  return good
}
