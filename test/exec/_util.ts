import * as assert from 'uvu/assert'
import type { Either } from 'fp-ts/lib/Either.js'
import type { PipelineError, Report, StageReport, WorkerState } from '../../src/index.js'
import { activeResources, deferred } from '../_helpers.js'

/** The resource baseline, taken after a turn (a file's first test starts inside uvu's own timer callback). */
export async function baseline(): Promise<string[]> {
  await new Promise((resolve) => setImmediate(resolve))
  return activeResources()
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** The Right of a run/collect result, failing the test on a Left. */
export function right<A>(result: Either<PipelineError, A>): A {
  if (result._tag === 'Left') assert.unreachable(`expected a Right, got Left ${result.left.kind}: ${result.left.message}`)
  return (result as { right: A }).right
}

/** The PipelineError of a run/collect result, failing the test on a Right. */
export function leftOf(result: Either<PipelineError, unknown>): PipelineError {
  if (result._tag === 'Right') assert.unreachable('expected a Left, got a Right')
  return (result as { left: PipelineError }).left
}

export function stage(report: Report, name: string): StageReport {
  const found = report.stages.find((s) => s.name === name)
  assert.ok(found, `no stage "${name}" in report: ${report.stages.map((s) => s.name).join(', ')}`)
  return found!
}

/** Resolves after `ms` through a timer that is cleared if `signal` aborts (then rejects with its reason). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Stage options whose async `init` takes 40 ms and opens an interval that only
 * `dispose` clears (a leak check catches a missed dispose), with counts of both.
 */
export function slowInit(concurrency = 2) {
  const started = deferred()
  const counts = { inits: 0, disposes: 0 }
  const options = {
    concurrency,
    init: async () => {
      started.resolve()
      await new Promise((resolve) => setTimeout(resolve, 40))
      counts.inits++
      return { keepAlive: setInterval(() => {}, 1000) }
    },
    dispose: (state: WorkerState) => {
      counts.disposes++
      clearInterval(state.get('keepAlive') as ReturnType<typeof setInterval>)
    },
  }
  return { options, counts, started: started.promise }
}
