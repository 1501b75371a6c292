// The hidden classes of a thread stage's per-run objects outlive their run (anchorShapes in
// exec/thread/thread-runner.ts): a full GC between two runs through a warm pool must not
// drop them, or the optimised code of the item path is thrown away and each run starts cold.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setFlagsFromString } from 'node:v8'
import { pipe, pool, thread, threadPool, type ThreadHandler } from '../../../src/index.js'
import { threadCounters } from '../../../src/exec/thread/thread-host.js'
import { anchoredThreadShapes } from '../../../src/exec/thread/thread-runner.js'
import { range, until } from '../../_helpers.js'

/** Whether two objects share a hidden class (V8's map), through a native enabled for this test. */
setFlagsFromString('--allow-natives-syntax')
const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean

interface Inside {
  runners: { all: { jobs: Set<object>; lease: { host: object } | undefined }[] }
}

/** Each item but the first holds its thread 200 ms, so that a run's jobs can be looked at while in flight. */
const slow = (n: number): number => {
  if (n > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200)
  return n
}

/** A runner of a real run of `handler`, and one of its jobs in flight; the run is then ended. */
async function liveRunner(handler: ThreadHandler<number, number>): Promise<{ runner: Inside['runners']['all'][number]; job: object }> {
  const iterator = pipe(range(4), pool(handler, 1))[Symbol.asyncIterator]()
  const first = iterator.next()
  const stage = iterator as unknown as Inside
  await until(() => (stage.runners.all[0]?.jobs.size ?? 0) > 0 && stage.runners.all[0]?.lease !== undefined, 'a job in flight', 10_000)
  const runner = stage.runners.all[0]!
  const job = [...runner.jobs][0]!
  await first
  await iterator.return?.()
  return { runner, job }
}

test('creating a threadPool keeps one runner and job of its shapes, with no user data, and starts no thread', async () => {
  const spawned = threadCounters.spawned
  const before = anchoredThreadShapes().length
  const pooled = threadPool(slow, { threads: 1 })
  const again = threadPool(slow, { threads: 1 })
  assert.is(threadCounters.spawned, spawned, 'no thread started')
  assert.is(anchoredThreadShapes().length, before + 1, 'once per process, not per pool')
  const kept = anchoredThreadShapes()[before]!
  assert.is((kept.job as { item: unknown }).item, undefined, 'the kept job holds no item')
  assert.is((kept.job as { live: boolean }).live, false)

  const { runner, job } = await liveRunner(pooled)
  const keptRunner = kept.runner as unknown as Inside['runners']['all'][number]
  assert.ok(sameShape(runner, keptRunner), "a run's runner has the kept runner's hidden class")
  assert.ok(sameShape(job, kept.job), "a run's job (with its timeout and env set) has the kept job's hidden class")
  assert.ok(sameShape(runner.lease, keptRunner.lease), "and its lease on the pool, the kept lease's")
  await pooled.close({ force: true })
  await again.close()
})

test("creating a thread() handler keeps a runner, a job and a never-started thread host of its shapes", async () => {
  const spawned = threadCounters.spawned
  const before = anchoredThreadShapes().length
  const handler = thread(slow)
  thread(slow)
  assert.is(threadCounters.spawned, spawned, 'no thread started')
  assert.is(anchoredThreadShapes().length, before + 1, 'once per process')
  const kept = anchoredThreadShapes()[before]!
  const keptRunner = kept.runner as unknown as Inside['runners']['all'][number]

  const { runner, job } = await liveRunner(handler)
  assert.ok(sameShape(runner, keptRunner))
  assert.ok(sameShape(job, kept.job))
  assert.ok(sameShape(runner.lease, keptRunner.lease), "the run's own-thread lease")
  assert.ok(sameShape(runner.lease!.host, keptRunner.lease!.host), 'and its thread host')
  await until(() => threadCounters.live === 0, 'the run ended its thread', 10_000)
})

test.run()
