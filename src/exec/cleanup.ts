import type { Logger } from './logger.js'

/*
 * How long pipevine waits for user cleanup: a source's `return()` (an async
 * generator's `finally`) and a stage's `dispose`. User code may take its time or
 * never settle; a run must still end on time, so every such wait is bounded.
 * Cleanup that outlasts its bound is not stopped (it cannot be): it goes on in
 * the background. A wait that someone awaits keeps the process alive (else a
 * program could exit in the middle of `await run(…)`); a wait nobody awaits any
 * more does not, so stuck cleanup keeps the process alive no longer than the
 * user's own code does.
 */

/**
 * A stage that completes waits this long for its `dispose`, and any stage
 * waits this long before it logs that a source's cleanup or a `dispose` is
 * still running (one warning each), then stops waiting.
 */
export const CLEANUP_GRACE_MS = 3_000

/**
 * A run or stage that is stopped (cancel, kill, timeout, failFast, a consumer's
 * `break`) waits at most this long for that cleanup, so that it still ends
 * within 100 ms of the abort; prompt cleanup has finished by then.
 */
export const STOP_CLEANUP_WAIT_MS = 30

/** The bounds in force: the constants above (tests shorten `graceMs` instead of waiting seconds). */
export const cleanupBounds = { graceMs: CLEANUP_GRACE_MS, stopWaitMs: STOP_CLEANUP_WAIT_MS }

const ignore = (): void => {}

/**
 * Settles (never rejects) when `work` settles or `ms` have passed, whichever is
 * first; true when `work` settled in time. The timer is cleared as soon as
 * `work` settles; `keepAlive: false` when no caller awaits the result.
 */
export function waitAtMost(work: PromiseLike<unknown>, ms: number, keepAlive = true): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(resolve, ms, false)
    if (!keepAlive) timer.unref()
    Promise.resolve(work).then(ignore, ignore).then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

/**
 * Waits for user cleanup `work`: at most the stop wait when the stage was
 * `stopped`, else at most the grace. Either way, if it is still running when the
 * grace is over, `log` gets one warning naming `what`.
 */
export function waitForCleanup(work: PromiseLike<unknown>, log: Logger, what: string, stopped: boolean): Promise<void> {
  const watched = withinGrace(work, log, what, !stopped)
  return stopped ? waitAtMost(work, cleanupBounds.stopWaitMs).then(ignore) : watched
}

/**
 * Waits for user cleanup `work` at most the grace; past it, `log` gets one
 * warning naming `what`, and the cleanup goes on without anyone waiting for it.
 */
export function withinGrace(work: PromiseLike<unknown>, log: Logger, what: string, keepAlive: boolean): Promise<void> {
  const ms = cleanupBounds.graceMs
  return waitAtMost(work, ms, keepAlive).then((settled) => {
    if (settled) return
    try {
      log.warn(`${what} still running after ${ms} ms; pipevine no longer waits for it (it goes on in the background)`)
    } catch {
      // a logger that throws must not turn a bounded wait into a rejection
    }
  })
}
