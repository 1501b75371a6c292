/**
 * The depth scenario (issue 12, point 5): the same cheap stage chained 1, 3, 5,
 * 10 and 20 deep, to show what one more stage costs. A protocol that pays per
 * stage per hop shows up here as a time per item per stage that grows with depth.
 * Each depth is a scenario of its own for the harness (so its implementations
 * alternate run by run); they are reported together as one table.
 */
import { pipe as itPipe } from 'it-pipe'
import itMap from 'it-map'
import { pipe, pool, run, values } from '../src/index.js'
import { Checker, checkOf, rateOf, type Check, type Impl, type Scenario, type ScenarioResult } from './harness.js'
import { asyncGeneratorChain, range, type AsyncFn } from './peers.js'

export const DEPTHS = [1, 3, 5, 10, 20]
/** The depth the others are compared with. */
export const REFERENCE_DEPTH = 3
export const DEPTH_ITEMS = 100_000
export const RUN_ROW = 'pipevine (run)'
export const IT_MAP_ROW = 'it-pipe + it-map'
export const GENERATOR_ROW = 'async generator chain'
/** Depth 1 only: a `for await` over an iterator that does the stage's `x + 1` itself and only returns `Promise.resolve`d results. */
export const FLOOR_ROW = '`for await` floor'

/** The floor row's iterator: what a `for await` read costs per item, with no stage at all. */
class FloorIterator implements AsyncIterableIterator<number> {
  private i = 0
  constructor(private readonly items: number[]) {}
  next(): Promise<IteratorResult<number>> {
    if (this.i >= this.items.length) return Promise.resolve({ value: undefined, done: true })
    return Promise.resolve({ value: this.items[this.i++]! + 1, done: false })
  }
  [Symbol.asyncIterator](): this {
    return this
  }
}
/** Kept for the process's life: a GC before a run would otherwise drop its hidden class and time the re-warm (see bench/depth-floor.ts). */
export const floorAnchor = new FloorIterator([])

/** `depth` stages of `async x => x + 1`, each its own function (as in a real pipeline, where stages differ). */
function stages(depth: number): AsyncFn[] {
  return Array.from({ length: depth }, () => async (x: number) => x + 1)
}

function pipeline(n: number, fns: AsyncFn[]): AsyncIterable<unknown> {
  return (pipe as (source: unknown, ...operators: unknown[]) => AsyncIterable<unknown>)(range(n), ...fns.map((fn) => pool(fn)))
}

function depthScenario(depth: number): Scenario {
  // Made once per size: the `run` row returns it, and its timed run must not include building it.
  const checks = new Map<number, Check>()
  const expected = (n: number): Check => {
    let check = checks.get(n)
    if (check === undefined) checks.set(n, (check = checkOf(range(n).map((x) => x + depth))))
    return check
  }
  const impls: Impl[] = [
    {
      name: GENERATOR_ROW,
      kind: 'baseline',
      run: async (n) => {
        const out = new Checker()
        await asyncGeneratorChain(range(n), stages(depth), out)
        return out.result()
      },
    },
    {
      name: IT_MAP_ROW,
      kind: 'peer',
      run: async (n) => {
        const out = new Checker()
        const flow = (itPipe as unknown as (...steps: unknown[]) => AsyncIterable<number>)(range(n), ...stages(depth).map((fn) => (source: Iterable<number> | AsyncIterable<number>) => itMap(source, fn)))
        for await (const value of flow) out.add(value)
        return out.result()
      },
    },
    {
      name: 'pipevine',
      kind: 'pipevine',
      run: async (n) => {
        const out = new Checker()
        for await (const value of pipe(pipeline(n, stages(depth)), values())) out.add(value as number)
        return out.result()
      },
    },
    {
      name: RUN_ROW,
      kind: 'pipevine',
      // `run` hands no values back: its report's counts are checked, and stand for the values.
      run: async (n) => {
        const result = await run(pipeline(n, stages(depth)))
        if (result._tag === 'Left') throw result.left
        const { processed, failed } = result.right
        if (processed !== n || failed !== 0) return { count: processed, sum: NaN, hash: NaN }
        return expected(n)
      },
    },
  ]
  if (depth === 1)
    impls.push({
      name: FLOOR_ROW,
      kind: 'baseline',
      run: async (n) => {
        const out = new Checker()
        for await (const value of new FloorIterator(range(n))) out.add(value)
        return out.result()
      },
    })
  return {
    name: `depth-${depth}`,
    description: `${depth} chained \`async x => x + 1\` stage${depth === 1 ? '' : 's'}, concurrency 1, ordered`,
    items: DEPTH_ITEMS,
    quickItems: 5_000,
    ordered: true,
    baseline: GENERATOR_ROW,
    expected,
    impls,
  }
}

export const depthScenarios: Scenario[] = DEPTHS.map(depthScenario)

/**
 * The least depth-1 ÷ 3-stage ratio a `for await` read allows a chain whose 3-stage
 * figure is `perStage3` µs per stage: depth 1 pays the loop's floor `floor` per item
 * on one stage, depth 3 on three, so one stage costs at least perStage3 - floor / 3
 * and depth 1 at least perStage3 + 2 floor / 3 (for stages that cost the same
 * wherever they sit in a chain).
 */
export function leastFlatness(floor: number, perStage3: number): number {
  return 1 + (2 * floor) / (3 * perStage3)
}

/** µs per item per stage of `row` in a depth scenario's result. */
export function perStage(result: ScenarioResult, row: string): number {
  const found = result.rows.find((r) => r.name === row)
  return found && Number.isFinite(found.median) ? 1e6 / rateOf(found) / depthOf(result) : NaN
}

export function depthOf(result: ScenarioResult): number {
  return Number(result.name.slice('depth-'.length))
}

const ROWS = [GENERATOR_ROW, IT_MAP_ROW, 'pipevine', RUN_ROW]

/** One table for every depth: µs per item per stage, pipevine's ratios to the peers and to its own 3-stage figure. */
export function depthTable(results: ScenarioResult[]): string {
  const reference = results.find((r) => depthOf(r) === REFERENCE_DEPTH)
  const fmt = (us: number): string => (Number.isFinite(us) ? us.toFixed(3) : 'n/a')
  const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) ? `${(b / a).toFixed(2)}×` : 'n/a')
  const lines = [
    '| stages | async generators µs | it-pipe + it-map µs | **pipevine** µs | **pipevine (run)** µs | for await × generators | for await × it-map | run × generators | run × it-map | for await ÷ 3-stage | run ÷ 3-stage |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const result of results) {
    const [gen, it, pv, pvRun] = ROWS.map((row) => perStage(result, row)) as [number, number, number, number]
    const flat = (row: string, us: number): string => {
      const ref = reference ? perStage(reference, row) : NaN
      return Number.isFinite(ref) && Number.isFinite(us) ? `${(us / ref).toFixed(2)}` : 'n/a'
    }
    lines.push(
      `| ${depthOf(result)} | ${fmt(gen)} | ${fmt(it)} | ${fmt(pv)} | ${fmt(pvRun)} | ${ratio(pv, gen)} | ${ratio(pv, it)} | ${ratio(pvRun, gen)} | ${ratio(pvRun, it)} | ${flat('pipevine', pv)} | ${flat(RUN_ROW, pvRun)} |`,
    )
  }
  const floor = results.find((r) => depthOf(r) === 1)
  const floorUs = floor ? perStage(floor, FLOOR_ROW) : NaN
  const reference3 = reference ? perStage(reference, 'pipevine') : NaN
  if (Number.isFinite(floorUs) && Number.isFinite(reference3))
    lines.push(
      '',
      `The \`for await\` loop's own floor (an iterator that only returns \`Promise.resolve\`d results): ${fmt(floorUs)} µs per item. ` +
        `Read by \`for await\`, one stage pays it alone and three share it, so with a 3-stage figure of ${fmt(reference3)} µs no chain can show depth 1 ÷ 3-stage below ` +
        `${leastFlatness(floorUs, reference3).toFixed(2)} (1 + 2 × floor ÷ (3 × the 3-stage figure), for stages that cost the same wherever they sit).`,
    )
  return lines.join('\n')
}
