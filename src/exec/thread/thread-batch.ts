import { messageOf } from '../../result/stage-error.js'
import { ThreadError, type Job } from './thread-job.js'
import { Queue } from '../engine/queue.js'
import { THROWN, cloneable, collectTransfers, type Batch, type SalvageMessage, type Transferable } from './thread-protocol.js'

/** A job in a thread, under the id it was sent with. */
export interface Sent {
  readonly job: Job
  readonly id: number
}

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

/** Hands the jobs in `sent` that a salvage message covers their outcomes (a thread exiting mid-batch sent them). */
export function salvage(sent: Queue<Sent>, message: SalvageMessage, deliver: (job: Job, id: number, kind: number, value: unknown) => void): void {
  const first = message.__pipevineSalvage
  const { values, failures } = message
  const end = first + values.length
  // Taken first: an outcome handed over may submit jobs, and those must not shift the entries read here.
  const salvaged: Sent[] = []
  for (let i = 0; i < sent.length; i++) {
    const entry = sent.at(i)
    if (entry.id >= first && entry.id < end) salvaged.push(entry)
  }
  let f = 0
  for (const { job, id } of salvaged) {
    const index = id - first
    while (failures !== undefined && f < failures.length && failures[f]![0] < index) f++
    const failure = failures !== undefined && f < failures.length && failures[f]![0] === index ? failures[f] : undefined
    deliver(job, id, failure === undefined ? 0 : failure[1], failure === undefined ? values[index] : failure[2])
  }
}

/**
 * What a thread that is gone held: the jobs it had started whose outcome has
 * not arrived, to fail (the item that was running, and, only when the thread
 * could not send them first — terminated, or a hard crash — the batch-mates that
 * had finished before it: running them again could repeat their effects), and
 * the queue for the next thread: those it had not started, then `pending`.
 */
export function splitLost(sent: Queue<Sent>, pending: Queue<Job>, started: number): { failed: Job[]; again: Queue<Job> } {
  const failed: Job[] = []
  const again = new Queue<Job>(sent.length + pending.length)
  while (sent.length > 0) {
    const { job, id } = sent.shift()
    if (!job.live || job.id !== id) continue
    if (id <= started) failed.push(job)
    else {
      job.id = 0
      again.push(job)
    }
  }
  while (pending.length > 0) again.push(pending.shift())
  return { failed, again }
}

/** Fails the jobs still live with `error`. */
export function failJobs(jobs: Job[], error: ThreadError): void {
  for (const job of jobs) {
    job.id = 0
    if (job.live) job.client.jobDone(job, THROWN, error)
  }
}

/** The job sent under `id`, while it is still waiting for that outcome. */
export function sentJob(sent: Queue<Sent>, id: number): Job | undefined {
  for (let i = 0; i < sent.length; i++) {
    const entry = sent.at(i)
    if (entry.id === id) return entry.job.live && entry.job.id === id ? entry.job : undefined
    if (entry.id > id) return undefined
  }
  return undefined
}
