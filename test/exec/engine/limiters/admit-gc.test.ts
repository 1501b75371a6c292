// A full GC between two rate-limited runs must not throw away the optimised code of the
// limiter's admission of a parked attempt (Worker.admit, inlined into StageGate.drain): it
// must not have one run's objects compiled in. Node gives every AbortSignal a hidden class
// of its own, so a plain `signal.aborted` there had the stage signal's class in it, and each
// GC after a run deoptimised it (see signalAborted in exec/engine/limiter.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setFlagsFromString } from 'node:v8'
import { pipe, pool, run } from '../../../../src/index.js'
import { Worker } from '../../../../src/exec/engine/worker.js'

setFlagsFromString('--allow-natives-syntax')
const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean
const optimizeOnNextCall = new Function('f', '%PrepareFunctionForOptimization(f); %OptimizeFunctionOnNextCall(f)') as (f: unknown) => void
/** V8's optimisation status bit for code compiled by TurboFan (and still attached: not marked for deoptimisation). */
const TURBOFANNED = 1 << 6
const turbofanned = new Function('f', `return (%GetOptimizationStatus(f) & ${TURBOFANNED}) !== 0`) as (f: unknown) => boolean
const gc = (globalThis as { gc?: () => void }).gc

/**
 * A run whose attempts wait for tokens (500 a second after a burst of 5), so the limiter admits
 * parked ones; from its 20th item on (`optimizeMidRun`), the next admission compiles `admit` with
 * what this run has taught it.
 */
async function limitedRun(optimizeMidRun: boolean): Promise<void> {
  const handler = async (n: number): Promise<number> => {
    if (optimizeMidRun && n === 20) optimizeOnNextCall(Worker.prototype.admit)
    await new Promise((resolve) => setTimeout(resolve, 1))
    return n
  }
  const result = await run(pipe(Array.from({ length: 40 }, (_, i) => i), pool(handler, { concurrency: 8, rate: { perSecond: 500, burst: 5 } })))
  assert.ok(result._tag === 'Right' && result.right.processed === 40, 'every item processed')
}

test('two AbortSignals have different hidden classes (why the admission path must not check one)', () => {
  assert.not.ok(sameShape(new AbortController().signal, new AbortController().signal))
})

test("a GC after a rate-limited run keeps the limiter's admission of parked attempts optimised", async () => {
  assert.ok(gc, 'run with --expose-gc')
  const admit = Worker.prototype.admit
  await limitedRun(false)
  await limitedRun(true)
  assert.ok(turbofanned(admit), 'the run admitted its last parked attempts with optimised code')
  gc!()
  await new Promise((resolve) => setImmediate(resolve))
  gc!()
  assert.ok(turbofanned(admit), 'the code survived the GC after the run')
})

test.run()
