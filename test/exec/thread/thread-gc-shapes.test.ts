// What a full GC between two runs on warm threads must not throw away (see anchorShapes in
// exec/thread/thread-runner.ts, and ThreadHost's flush): the hidden classes the item path's
// optimised code checks — a run's stage config and lease opener included — and no AsyncResource
// per flush (Node makes one for each queueMicrotask call; a GC that finds none alive drops their
// classes, and with them the optimised code of every submit path that inlined the call).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHook } from 'node:async_hooks'
import { setFlagsFromString } from 'node:v8'
import { pipe, pool, thread, threadPool, values, type ThreadHandler } from '../../../src/index.js'
import { anchoredThreadShapes } from '../../../src/exec/thread/thread-runner.js'
import { drain, range, until } from '../../_helpers.js'

setFlagsFromString('--allow-natives-syntax')
const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean

interface RunnerInside {
  config: object
  opener: object
  jobs: Set<object>
  lease: object | undefined
}

/** Each item but the first holds its thread 200 ms, so that a run's runner can be looked at while in flight. */
const slow = (n: number): number => {
  if (n > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200)
  return n
}

/** A runner of a real run of `handler`, looked at with a job in flight; the run is then ended. */
async function liveRunner(handler: ThreadHandler<number, number>): Promise<RunnerInside> {
  const iterator = pipe(range(4), pool(handler, 1))[Symbol.asyncIterator]()
  const first = iterator.next()
  const stage = iterator as unknown as { runners: { all: RunnerInside[] } }
  await until(() => (stage.runners.all[0]?.jobs.size ?? 0) > 0 && stage.runners.all[0]?.lease !== undefined, 'a job in flight', 10_000)
  const runner = stage.runners.all[0]!
  await first
  await iterator.return?.()
  return runner
}

test("a threadPool run's stage config and lease opener have the hidden classes of the kept runner's", async () => {
  const before = anchoredThreadShapes().length
  const pooled = threadPool(slow, { threads: 1 })
  const kept = anchoredThreadShapes()[before]!.runner as unknown as RunnerInside
  const runner = await liveRunner(pooled)
  assert.ok(sameShape(runner.config, kept.config), "the run's config")
  assert.ok(sameShape(runner.opener, kept.opener), "the run's lease opener")
  await pooled.close({ force: true })
})

test("a thread() run's stage config and thread opener have the hidden classes of the kept runner's", async () => {
  const before = anchoredThreadShapes().length
  const handler = thread(slow)
  const kept = anchoredThreadShapes()[before]!.runner as unknown as RunnerInside
  const runner = await liveRunner(handler)
  assert.ok(sameShape(runner.config, kept.config), "the run's config")
  assert.ok(sameShape(runner.opener, kept.opener), "the run's thread opener")
})

test('items sent to warm pool threads make no AsyncResource per flush', async () => {
  const pooled = threadPool((n: number) => n * 2, { threads: 2 })
  await pooled.ready()
  let microtaskResources = 0
  const hook = createHook({
    init(_id, type) {
      if (type === 'Microtask') microtaskResources++
    },
  })
  hook.enable()
  let out: number[]
  try {
    out = await drain(pipe(range(200), pool(pooled, 2), values()))
  } finally {
    hook.disable()
  }
  assert.equal(out.sort((a, b) => a - b), range(200).map((n) => n * 2), 'every item came back once')
  assert.is(microtaskResources, 0)
  await pooled.close()
})

test.run()
