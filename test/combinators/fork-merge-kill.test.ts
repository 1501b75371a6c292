import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fork, kill, pipe, pool, run, PipelineError } from '../../src/index.js'
import { assertNoLeaks, counting, withTimeout, baseline, leftOf } from '../_helpers.js'

// kill() from a merge function stops the run, as it does from any handler.
const merges = {
  sync: (results: unknown[]): unknown => (results[0] === 3 ? kill({ at: 3 }) : results[0]),
  async: async (results: unknown[]): Promise<unknown> => {
    await new Promise((resolve) => setImmediate(resolve))
    return results[0] === 3 ? kill({ at: 3 }) : results[0]
  },
}

for (const [mode, merge] of Object.entries(merges)) {
  test(`kill() returned by a fork's merge (${mode}) kills the run with its reason; nothing after it is emitted`, async () => {
    const before = await baseline()
    const src = counting()
    const emitted: unknown[] = []
    const result = await withTimeout(
      run(
        pipe(
          src.source,
          fork([(n: number) => n, (n: number) => -n], merge),
          pool((x: unknown) => (emitted.push(x), x), { name: 'after' }),
        ),
      ),
      2000,
      'the killed run',
    )
    const error = leftOf(result)
    assert.is(error.kind, 'killed')
    assert.equal(error.reason, { at: 3 })
    assert.equal(emitted, [0, 1, 2], 'the kill itself never comes out as a value')
    await withTimeout(src.closed, 1000, 'source finally')
    await assertNoLeaks(before, 'killed by a merge')
  })
}

test("kill() returned by pool's fork merge, under a plain for await: the loop throws the killed PipelineError", async () => {
  const seen: unknown[] = []
  let thrown: unknown
  try {
    for await (const r of pipe([1, 2, 3, 4], pool((n: number) => n, { concurrency: 2, fork: (results) => (results[0] === 2 ? kill('enough') : results[0]) }))) seen.push(r)
  } catch (error) {
    thrown = error
  }
  assert.instance(thrown, PipelineError)
  assert.is((thrown as PipelineError).kind, 'killed')
  assert.is((thrown as PipelineError).reason, 'enough')
  // Outputs still queued when the kill lands are dropped, as with a kill from a handler; the kill is never one of them.
  assert.ok(seen.length <= 1 && seen.every((r) => (r as { right: unknown }).right === 1), JSON.stringify(seen))
})

test.run()
