// Hidden classes that stay put (issue 12, point 5). The bench runs a full GC before
// every run; a class that changes when a field first gets a fraction (a clock
// reading) is then dropped and recreated run after run, and the code compiled for
// it deoptimises each time. Each check runs first in a fresh process, before any
// other pipeline has taught V8 the field's final form.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setFlagsFromString } from 'node:v8'
import { pipe, pool } from '../../src/index.js'
import { StageStats } from '../../src/exec/stats.js'

/** Whether two objects share a hidden class (V8's map), through a native enabled for this test. */
setFlagsFromString('--allow-natives-syntax')
const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean

test("a stage's figures keep their hidden class when the first clock readings arrive", () => {
  const fresh = new StageStats('fresh')
  const timed = new StageStats('timed')
  timed.startedAt = performance.now()
  timed.busyMs += 0.25
  timed.endedAt = performance.now()
  assert.ok(sameShape(fresh, timed))
})

test('a worker keeps its hidden class whether its stage times its handler or not', async () => {
  const open = (timing: boolean) => {
    const iterator = pipe([1, 2, 3], pool(async (x: number) => x))[Symbol.asyncIterator]() as unknown as { scope: { run: { timing: boolean } }; runners: { all: unknown[] } }
    iterator.scope.run.timing = timing
    return iterator
  }
  const [untimedStage, timedStage] = [open(false), open(true)]
  for (const stage of [untimedStage, timedStage]) for await (const _ of stage as unknown as AsyncIterable<unknown>);
  assert.ok(sameShape(untimedStage.runners.all[0], timedStage.runners.all[0]))
})

test.run()
