import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, pipe, pool, StageError, TimeoutError } from '../../src/index.js'
import { right, stage } from '../_helpers.js'

/** Holds the thread for `ms`, as a CPU-bound handler or a synchronous library call does. */
function block(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // busy
  }
}

test('a handler that blocks synchronously past its timeout fails with a TimeoutError; its value is discarded', async () => {
  const signals: AbortSignal[] = []
  const { values, errors, report } = right(
    await collect(
      pipe(
        [1, 2, 3],
        pool(
          (n: number, { signal }) => {
            signals.push(signal)
            if (n === 2) block(60)
            return n
          },
          { timeout: 20, name: 'cpu', ordered: true },
        ),
      ),
    ),
  )
  assert.equal(values, [1, 3])
  assert.is(errors.length, 1)
  const error = errors[0]!
  assert.instance(error, StageError)
  assert.is(error.item, 2)
  assert.instance(error.cause, TimeoutError)
  assert.is((error.cause as TimeoutError).ms, 20)
  assert.ok(signals[1]!.aborted, "the late attempt's signal aborted")
  assert.instance(signals[1]!.reason, TimeoutError)
  const s = stage(report, 'cpu')
  assert.is(s.failed, 1)
  assert.is(s.discarded, 1, 'the late value counts as discarded, as a late async one does')
})

test('an async handler that blocks before its first await, and one that throws late, time out too', async () => {
  const { values, errors } = right(
    await collect(
      pipe(
        [1, 2, 3],
        pool(
          async (n: number) => {
            if (n === 2) block(60)
            if (n === 3) {
              block(60)
              throw new Error('late failure')
            }
            return n
          },
          { timeout: 20 },
        ),
      ),
    ),
  )
  assert.equal(values, [1])
  assert.equal(
    errors.map((e) => [e.item, (e.cause as Error).name]),
    [
      [2, 'TimeoutError'],
      [3, 'TimeoutError'],
    ],
  )
})

test('a late attempt is retried like any timed-out one, and a result within the deadline is kept', async () => {
  let calls = 0
  const { values, errors, report } = right(
    await collect(
      pipe(
        [7],
        pool(
          (n: number) => {
            if (++calls === 1) block(60)
            return n * 2
          },
          { timeout: 40, retries: 1, name: 'once-slow' },
        ),
      ),
    ),
  )
  assert.equal(values, [14])
  assert.is(errors.length, 0)
  assert.is(calls, 2)
  assert.is(stage(report, 'once-slow').retried, 1)
})

test.run()
