import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pipe, pool, run, thread } from '../../../src/index.js'
import { ATTEMPT_CANCELLED, kLimiter, type AdmissionTicket, type Limiter, type LimiterFactory } from '../../../src/exec/engine/limiter.js'
import { leftOf, range, until, withTimeout } from '../../_helpers.js'

/**
 * A limiter that lets `k` attempts run and admits a parked one synchronously
 * from inside `release`, even a cancelled attempt's release (no microtask
 * deferral, unlike StageGate): the worst case for a stage that is stopping.
 * It checks that each admission is released exactly once.
 */
function eagerLimiter(k: number) {
  const parked: AdmissionTicket[] = []
  const running = new Set<AdmissionTicket>()
  const seen = { admitted: 0, released: 0, cancelledReleases: 0, doubleRelease: 0, parked }
  const limiter: Limiter = {
    acquire(ticket) {
      if (running.size < k && parked.length === 0) {
        running.add(ticket)
        seen.admitted++
        return true
      }
      parked.push(ticket)
      return false
    },
    cancel(ticket) {
      const i = parked.indexOf(ticket)
      if (i >= 0) parked.splice(i, 1)
    },
    release(ticket, outcome) {
      if (!running.delete(ticket)) seen.doubleRelease++
      seen.released++
      if (outcome === ATTEMPT_CANCELLED) seen.cancelledReleases++
      const next = parked.shift()
      if (next !== undefined) {
        running.add(next)
        seen.admitted++
        next.admit()
      }
    },
  }
  const factory: LimiterFactory = () => limiter
  return { factory, seen, running }
}

const limited = (factory: LimiterFactory): {} => ({ [kLimiter]: factory })

test('pool: a parked attempt admitted by a release during the stop never starts its handler after the stop', async () => {
  const lim = eagerLimiter(1)
  const ac = new AbortController()
  const startsAfterStop: number[] = []
  const handler = (n: number): Promise<number> => {
    if (ac.signal.aborted) startsAfterStop.push(n)
    return new Promise(() => {})
  }
  const pending = run(pipe(range(4), pool(handler, { concurrency: 4, ...limited(lim.factory) })), { signal: ac.signal })
  await until(() => lim.seen.parked.length >= 3, 'attempts parked')
  ac.abort()
  const result = await withTimeout(pending, 2_000, 'cancelled run')
  assert.is(leftOf(result).kind, 'cancelled')
  assert.equal(startsAfterStop, [], 'no handler started after the stop')
  assert.is(lim.running.size, 0, 'every admitted attempt was released')
  assert.is(lim.seen.released, lim.seen.admitted, 'each admission released once')
  assert.is(lim.seen.doubleRelease, 0)
})

const fixture = new URL('../../fixtures/thread-cpu.ts', import.meta.url)

test('thread stage: every attempt admitted while the stage stops is released exactly once (the running count does not leak)', async () => {
  const lim = eagerLimiter(1)
  const ac = new AbortController()
  const pending = run(pipe(range(8), pool(thread(fixture, 'burn'), { concurrency: 4, name: 'burning', ...limited(lim.factory) })), { signal: ac.signal })
  await until(() => lim.seen.parked.length >= 3, 'attempts parked')
  ac.abort()
  const result = await withTimeout(pending, 5_000, 'cancelled run')
  assert.is(leftOf(result).kind, 'cancelled')
  assert.is(lim.running.size, 0, 'every admitted attempt was released')
  assert.is(lim.seen.released, lim.seen.admitted, 'each admission released once')
  assert.is(lim.seen.doubleRelease, 0)
})

test.run()
