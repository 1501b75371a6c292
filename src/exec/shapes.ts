import { drainForShapes } from './run.js'

/**
 * One small, finished pipeline kept for the life of the process.
 *
 * V8 keeps a hidden class only while some object still has it. A full GC that
 * runs while no pipeline is alive drops the classes of our stages, workers and
 * queues, and with them the optimised code built on them: the next run then
 * starts cold and stays slow for hundreds of thousands of items (measured on
 * 200,000 items through three cheap stages, after a forced GC: 225 ms without
 * the anchor, 170 ms with it, as without the GC). It keeps the flow it was
 * built as, too: a program whose function composes a pipeline and reads it
 * (`for await (const x of pipe(...))`) has that flow's class compiled into the
 * function, which the GC would otherwise deoptimise every time no flow is alive
 * (100,000 items through one stage, a GC before each run: 0.14–0.18 µs per item
 * without it, 0.12–0.13 with it). The anchor holds no user data,
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
  const flow = build()
  const iterator = flow[Symbol.asyncIterator]()
  anchors.push(flow, iterator)
  for (let step = await iterator.next(); !step.done; step = await iterator.next()) anchors.push(step.value)
  // And the way `run` and `collect` drain a pipeline.
  await drainForShapes(build(), anchors)
}
