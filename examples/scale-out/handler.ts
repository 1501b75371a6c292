// The stage that moves out: the same Handler shape as a pool's, run by every worker process.
import { createHash } from 'node:crypto'
import type { RemoteContext } from '../../src/bullmq.js'

export interface Doc {
  id: number
  text: string
}

export interface Fingerprint {
  id: number
  sha256: string
  /** Which worker process did it (to show the spread). */
  pid: number
}

/** Hashes a document after a short wait, as a call to a slow service would; honours its signal. */
export async function fingerprint(doc: Doc, ctx: RemoteContext): Promise<Fingerprint> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, 20)
    ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)), { once: true })
  })
  // ctx.key is the same on every re-execution of this item: use it to make side effects idempotent.
  return { id: doc.id, sha256: createHash('sha256').update(doc.text).digest('hex'), pid: process.pid }
}
