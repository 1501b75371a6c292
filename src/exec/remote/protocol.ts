import { TimeoutError } from '../../result/stage-error.js'
import { taggedJson } from './codec.js'

/*
 * What `remote` and `serve` say to each other through Redis: the job's data,
 * its return value, the failure detail, and cancellations.
 */

/** A job's data: one attempt at one item. */
export interface JobData {
  /** The item, encoded by the stage's codec. */
  readonly i: unknown
  /** The attempt number (`ctx.attempt`). */
  readonly a: number
  /** The item's key, stable across re-executions (`ctx.key`). */
  readonly k: string
  /** Per-attempt timeout in ms, enforced where the handler runs (0: none). */
  readonly t: number
  /** The item's position in the stage's input (`ctx.index`). */
  readonly x?: number
}

/** A completed job's return value: `v` the encoded result, `x` the encoded reason of a `kill()`, or `s` when the handler returned `skip`. */
export type JobResult = { readonly v: unknown } | { readonly x: unknown } | { readonly s: 1 }

/** The return value of a job whose handler returned `skip` (the item leaves the stage as nothing). */
export const SKIPPED: JobResult = { s: 1 }

/** The progress a failing job reports just before it fails: its error, whole (BullMQ's `failedReason` keeps only the message). */
export const ERROR_KEY = '$pvError'

/** The name of the queue whose events stream carries cancellations (`<queue>.pipevine-cancel`). */
export function cancelQueueName(queue: string): string {
  return `${queue}.pipevine-cancel`
}

/** The custom event that asks every serving process to abort some active jobs. */
export const CANCEL_EVENT = 'pipevine:cancel'

/** Job options every remote job gets: one BullMQ attempt (pipevine retries), removed as soon as it ends. */
export const JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: true } as const

/**
 * An error as it crosses: an Error keeps its name, message, stack and own data;
 * anything else thrown is sent as it is when it can be, else described.
 */
export function errorToWire(error: unknown): unknown {
  try {
    return taggedJson.encode(error)
  } catch {
    const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown }
    return taggedJson.encode(Object.assign(new Error(typeof message === 'string' ? message : String(error)), { name: typeof name === 'string' ? name : 'Error' }))
  }
}

/** The error back: a handler's TimeoutError is one again (named after the pipeline's stage). */
export function errorFromWire(json: unknown, stage: string): unknown {
  let error: unknown
  try {
    error = taggedJson.decode(json)
  } catch (cause) {
    return cause
  }
  if (error instanceof Error && error.name === 'TimeoutError' && typeof (error as { ms?: unknown }).ms === 'number') {
    return new TimeoutError(stage, (error as unknown as { ms: number }).ms)
  }
  return error
}
