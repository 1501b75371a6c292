// What the remote stage and serve do with their BullMQ parts (Queue, QueueEvents, Worker, …): close them, read Redis's clock.
import type { Queue, QueueEvents, QueueEventsProducer, Worker } from 'bullmq'

type Part = Queue | QueueEvents | QueueEventsProducer | Worker

/** Settles when `promise` does (rejections ignored) or after `ms`, whichever comes first: true when it settled. */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)))]).finally(() => clearTimeout(timer))
}

/**
 * Closes a BullMQ part, and if that takes longer than `ms` (a QueueEvents whose
 * Redis went away waits for a connection that may never come back), stops its
 * clients from reconnecting so that nothing of it is left running.
 */
export async function closePart(part: Part, ms: number): Promise<void> {
  const closing = part.close()
  if (ms > 0 && (await settleWithin(closing, ms))) return
  closing.catch(() => {})
  const backend = part.getBackend() as unknown as Record<string, { _client?: { disconnect?: () => void } } | undefined> & { close?: () => Promise<void> }
  // Marks the backend closing (a QueueEvents' read watchdog would reconnect otherwise), whether or not it finishes.
  backend.close?.().catch(() => {})
  for (const connection of [backend.connection, backend.blockingConnection]) {
    try {
      connection?._client?.disconnect?.()
    } catch {
      // already gone
    }
  }
}

/**
 * How long one blocking read of an events stream waits (BullMQ's default is 10 s):
 * BullMQ's watchdog on a read that a lost connection left hanging fires a second
 * after it, so this also bounds how long a closed part lingers.
 */
export const READ_BLOCK_MS = 2_000

/**
 * A stream id for "now" by Redis's clock (a millisecond back): an events stream
 * read from it misses nothing added later, whenever its first read happens.
 */
export async function redisClockId(part: Part): Promise<string> {
  const client = await part.getBackend().client
  const [seconds, micros] = (await client.runCommand('time', [])) as [string, string]
  return `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1}-0`
}
