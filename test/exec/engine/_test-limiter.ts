import * as assert from 'uvu/assert'
import { kLimiter, type AdmissionTicket, type Limiter, type LimiterFactory } from '../../../src/exec/engine/limiter.js'

/**
 * A test limiter: admits at most `k` attempts at once (none while `closed`),
 * parks the rest in order, and records everything it hears.
 */
export function testLimiter(k: number, closed = false) {
  const parked: AdmissionTicket[] = []
  const seen = { made: 0, acquired: 0, running: 0, maxRunning: 0, cancelled: 0, closedCalls: 0, outcomes: [] as number[], errors: [] as unknown[], latencies: [] as number[] }
  let gateClosed = closed
  const start = (): void => {
    seen.running++
    seen.maxRunning = Math.max(seen.maxRunning, seen.running)
  }
  const next = (): void => {
    while (!gateClosed && seen.running < k && parked.length > 0) {
      start()
      parked.shift()!.admit()
    }
  }
  const limiter: Limiter = {
    limit: k,
    acquire(ticket) {
      assert.is(seen.closedCalls, 0, 'never asked after close')
      seen.acquired++
      if (!gateClosed && seen.running < k && parked.length === 0) {
        start()
        return true
      }
      parked.push(ticket)
      return false
    },
    cancel(ticket) {
      const i = parked.indexOf(ticket)
      assert.ok(i >= 0, 'only a parked ticket is cancelled')
      parked.splice(i, 1)
      seen.cancelled++
    },
    release(_ticket, outcome, latencyMs, error) {
      assert.is(seen.closedCalls, 0, 'never told after close')
      seen.running--
      seen.outcomes.push(outcome)
      seen.latencies.push(latencyMs)
      if (error !== undefined) seen.errors.push(error)
      next()
    },
    close() {
      seen.closedCalls++
    },
  }
  const factory: LimiterFactory = () => {
    seen.made++
    return limiter
  }
  return {
    factory,
    seen,
    parked,
    open(): void {
      gateClosed = false
      next()
    },
  }
}

/** The internal option, typed as no option at all (the public options come with #15). */
export const limited = (factory: LimiterFactory): {} => ({ [kLimiter]: factory })
