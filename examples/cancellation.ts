// Stopping a pipeline from outside and from inside.
//
// 1. From outside, with a deadline: `run(flow, { signal: AbortSignal.timeout(ms) })`.
//    The source is endless; when the deadline passes, every handler's
//    `ctx.signal` aborts (so a well-behaved handler stops at once), the source is
//    closed, and `run` resolves to `Left(PipelineError)` of kind `timeout`, with
//    the report of what was done so far.
// 2. From inside, with `kill(reason)`: a handler that meets a poison item
//    returns `kill(…)`; the run ends as `Left` of kind `killed`, carrying the reason.
//
// Neither case leaves anything running, and neither throws: `run` always
// resolves to an Either.
//
// Run it: node --import tsx examples/cancellation.ts
import { fileURLToPath } from 'node:url'
import { isLeft, kill, pipe, pool, run, type StageContext } from '../src/index.js'

/** Waits `ms`, or rejects as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** An endless source that says when it was closed. */
async function* ticks(onClose: () => void): AsyncGenerator<number> {
  try {
    for (let i = 0; ; i++) yield i
  } finally {
    onClose()
  }
}

export async function withDeadline(ms = 200): Promise<{ kind: string; processed: number; sourceClosed: boolean; abortedHandlers: number }> {
  let sourceClosed = false
  let abortedHandlers = 0
  const slowWork = async (n: number, { signal }: StageContext): Promise<number> => {
    try {
      await sleep(20, signal) // stands in for a request that honours its signal
    } catch (error) {
      abortedHandlers++
      throw error
    }
    return n * n
  }
  const result = await run(pipe(ticks(() => (sourceClosed = true)), pool(slowWork, 4)), { signal: AbortSignal.timeout(ms) })
  if (!isLeft(result)) throw new Error('an endless pipeline cannot finish before its deadline')
  const error = result.left
  return { kind: error.kind, processed: error.report?.processed ?? 0, sourceClosed, abortedHandlers }
}

export async function withKill(): Promise<{ kind: string; reason: unknown; processed: number }> {
  const rows = Array.from({ length: 1_000 }, (_, id) => ({ id, poison: id === 42 }))
  const importRow = async (row: { id: number; poison: boolean }, { signal }: StageContext) => {
    if (row.poison) return kill(`poison row ${row.id}`) // stops the whole run, not just this item
    await sleep(1, signal)
    return row.id
  }
  const result = await run(pipe(rows, pool(importRow, 4)))
  if (!isLeft(result)) throw new Error('expected the poison row to kill the run')
  return { kind: result.left.kind, reason: result.left.reason, processed: result.left.report?.processed ?? 0 }
}

export async function main(): Promise<{ deadline: Awaited<ReturnType<typeof withDeadline>>; killed: Awaited<ReturnType<typeof withKill>> }> {
  return { deadline: await withDeadline(), killed: await withKill() }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { deadline, killed } = await main()
  console.log(`deadline: run ended as "${deadline.kind}" after ${deadline.processed} items; ${deadline.abortedHandlers} in-flight handlers saw their signal abort; source closed: ${deadline.sourceClosed}`)
  console.log(`kill: run ended as "${killed.kind}" (${String(killed.reason)}) after ${killed.processed} items`)
}
