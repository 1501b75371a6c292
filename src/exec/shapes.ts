import { drainForShapes } from './run.js'

/**
 * One small, finished pipeline kept for the life of the process.
 *
 * V8 keeps a hidden class only while some object still has it. A full GC that
 * runs while no pipeline is alive drops the classes of our stages, workers and
 * queues, and with them the optimised code built on them: the next run then
 * starts cold and stays slow for hundreds of thousands of items (measured on
 * 200,000 items through three cheap stages, after a forced GC: 225 ms without
 * the anchor, 170 ms with it, as without the GC). The anchor holds no user data,
 * starts no timer or thread, and costs a few microtasks, once, after the first `pool`.
 * `pool` builds it from the public stages (exec imports no combinator).
 */
const anchors: unknown[] = []
let scheduled = false
let anchored: Promise<readonly unknown[]> | undefined

/** Called when a pipeline is composed (by `pool`): the first time, composes the anchor pipeline soon after and runs it. */
export function anchorShapesSoon(pipeline: () => AsyncIterable<unknown>): void {
  if (scheduled) return
  scheduled = true
  anchored = Promise.resolve()
    .then(() => anchorShapes(pipeline))
    .catch(() => {
      // Only a speed-up; a failure here changes nothing else.
    })
    .then(() => anchors)
}

/** For tests: resolves once the anchor pipeline has run (undefined before the first `pool`), with what it holds. */
export function anchoredShapes(): Promise<readonly unknown[]> | undefined {
  return anchored
}

async function anchorShapes(build: () => AsyncIterable<unknown>): Promise<void> {
  const iterator = build()[Symbol.asyncIterator]()
  anchors.push(iterator)
  for (let step = await iterator.next(); !step.done; step = await iterator.next()) anchors.push(step.value)
  // And the way `run` and `collect` drain a pipeline.
  await drainForShapes(build(), anchors)
}
