// Property-based tests over randomly built pipelines (issue 6). Every case is
// seeded: a failure prints fast-check's seed, path and shrunk counterexample;
// re-run it with PROPERTY_SEED=<seed>. `npm run test:stress` runs 5,000 cases.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { left } from 'fp-ts/lib/Either.js'
import { batch, buffer, collect, fork, kill, mix, pipe, pool, retry, unbatch, type Operator, type StageContext } from '../../src/index.js'
import { activeResources } from '../_helpers.js'

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200)
const SEED = process.env.PROPERTY_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.PROPERTY_SEED)

type FailMode = 'throw' | 'reject' | 'left' | 'string'
interface Behaviour {
  failRate: number
  mode: FailMode
  latency: number // ms; 0 = synchronous handler
  ignoreSignal: boolean
}
type StageDesc =
  | ({ kind: 'pool'; concurrency: number; buffer: number; ordered: boolean; retries: number } & Behaviour)
  | ({ kind: 'mix'; handlers: number; buffer: number; ordered: boolean; retries: number } & Behaviour)
  | ({ kind: 'fork'; branches: number; concurrency: number; buffer: number; ordered: boolean; retries: number } & Behaviour)
  | { kind: 'retry'; retries: number; ordered: boolean; concurrency: number }
  | { kind: 'buffer'; size: number }
  | { kind: 'batch'; size: number }

const behaviour = {
  failRate: fc.constantFrom(0, 0, 0.1, 0.3, 0.6),
  mode: fc.constantFrom<FailMode>('throw', 'reject', 'left', 'string'),
  latency: fc.constantFrom(0, 0, 1, 2, 3),
  ignoreSignal: fc.boolean(),
}
const worker = { buffer: fc.integer({ min: 0, max: 16 }), ordered: fc.boolean(), retries: fc.integer({ min: 0, max: 2 }) }
const stageArb: fc.Arbitrary<StageDesc> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('pool' as const), concurrency: fc.integer({ min: 1, max: 16 }), ...worker, ...behaviour }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mix' as const), handlers: fc.integer({ min: 2, max: 3 }), ...worker, ...behaviour }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('fork' as const), branches: fc.integer({ min: 2, max: 3 }), concurrency: fc.integer({ min: 1, max: 3 }), ...worker, ...behaviour }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('retry' as const), retries: fc.integer({ min: 1, max: 2 }), ordered: fc.boolean(), concurrency: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('buffer' as const), size: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('batch' as const), size: fc.integer({ min: 1, max: 5 }) }) },
)
type Ending = { kind: 'complete' } | { kind: 'break'; after: number } | { kind: 'cancel'; after: number } | { kind: 'kill'; at: number }
const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'complete' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('break' as const), after: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), after: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), at: fc.integer({ min: 0, max: 30 }) }) },
)
const caseArb = fc.record({ items: fc.integer({ min: 0, max: 40 }), stages: fc.array(stageArb, { minLength: 1, maxLength: 4 }), ending: endingArb, salt: fc.integer() })
type Case = { items: number; stages: StageDesc[]; ending: Ending; salt: number }

/** Deterministic "random" failure: a stage fails an item on an attempt when this hash is below its rate. */
function unit(...parts: number[]): number {
  let h = 2166136261
  for (const p of parts) h = Math.imul(h ^ (p | 0), 16777619) >>> 0
  h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296
}

/** Everything a run's handlers did, observed from inside them. */
class Probe {
  active: number[] = []
  maxActive: number[] = []
  inits = 0
  disposes = 0
  running = 0
  killAt = -1

  handler(stage: number, desc: Behaviour, salt: number) {
    this.active[stage] = 0
    this.maxActive[stage] = 0
    const probe = this
    const fails = (id: number, attempt: number): boolean => unit(salt, stage, id, attempt) < desc.failRate
    const failure = (id: number): unknown => (desc.mode === 'string' ? `boom ${id}` : new Error(`boom ${id} at stage ${stage}`))
    if (desc.latency === 0) {
      return function syncHandler(id: number, ctx: StageContext): unknown {
        probe.enter(stage)
        try {
          if (id === probe.killAt) return kill(`item ${id}`)
          if (!fails(id, ctx.attempt)) return id
          if (desc.mode === 'left') return left(failure(id))
          throw failure(id)
        } finally {
          probe.leave(stage)
        }
      }
    }
    return async function asyncHandler(id: number, ctx: StageContext): Promise<unknown> {
      probe.enter(stage)
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, desc.latency)
          if (desc.ignoreSignal) return
          ctx.signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer)
              reject(ctx.signal.reason)
            },
            { once: true },
          )
        })
        if (id === probe.killAt) return kill(`item ${id}`)
        if (!fails(id, ctx.attempt)) return id
        if (desc.mode === 'left') return left(failure(id))
        if (desc.mode === 'reject') return Promise.reject(failure(id))
        throw failure(id)
      } finally {
        probe.leave(stage)
      }
    }
  }

  private enter(stage: number): void {
    this.running++
    this.maxActive[stage] = Math.max(this.maxActive[stage]!, ++this.active[stage]!)
  }
  private leave(stage: number): void {
    this.running--
    this.active[stage]!--
  }
}

function build(c: Case, probe: Probe): { ops: Operator<any, any>[]; limits: number[]; ordered: boolean; held: number } {
  const ops: Operator<any, any>[] = []
  const limits: number[] = []
  let ordered = true
  const hooks = { init: () => void probe.inits++, dispose: () => void probe.disposes++ }
  c.stages.forEach((s, i) => {
    switch (s.kind) {
      case 'pool':
        ops.push(pool(probe.handler(i, s, c.salt), { concurrency: s.concurrency, buffer: s.buffer, ordered: s.ordered, retries: s.retries, ...hooks }))
        limits[i] = s.concurrency
        ordered &&= s.ordered
        break
      case 'mix':
        ops.push(mix(Array.from({ length: s.handlers }, () => probe.handler(i, s, c.salt)), { buffer: s.buffer, ordered: s.ordered, retries: s.retries, ...hooks }))
        limits[i] = s.handlers
        ordered &&= s.ordered
        break
      case 'fork': {
        const branches = Array.from({ length: s.branches }, () => probe.handler(i, s, c.salt))
        ops.push(fork(branches, (results: unknown[]) => results[0], { concurrency: s.concurrency, buffer: s.buffer, ordered: s.ordered, retries: s.retries, ...hooks }))
        limits[i] = s.branches * s.concurrency
        ordered &&= s.ordered
        break
      }
      case 'retry':
        ops.push(retry({ retries: s.retries, backoff: 'linear', baseMs: 1, ordered: s.ordered, concurrency: s.concurrency }))
        ordered &&= s.ordered
        break
      case 'buffer':
        ops.push(buffer(s.size))
        break
      case 'batch':
        ops.push(batch(s.size), unbatch())
        break
    }
  })
  return { ops, limits, ordered, held: heldBound(c.stages) }
}

/** The most items the stages may hold between them: buffer + workers each (a batch stage: its batch, one out, one being split). */
function heldBound(stages: StageDesc[]): number {
  let total = 0
  for (const s of stages) {
    if (s.kind === 'pool') total += s.buffer + s.concurrency
    else if (s.kind === 'mix') total += s.buffer + s.handlers
    else if (s.kind === 'fork') total += s.buffer + s.concurrency
    else if (s.kind === 'retry') total += 1 + s.concurrency
    else if (s.kind === 'buffer') total += s.size
    else total += 3 * s.size
  }
  return total
}

/** The item id an output stands for: a plain id (buffer/batch only), a Right id, or a Left's failed item. */
const idOf = (r: any): number => (typeof r === 'number' ? r : r._tag === 'Right' ? r.right : r.left.item)

const unhandled: unknown[] = []
process.on('unhandledRejection', (error) => void unhandled.push(error))
process.on('uncaughtException', (error) => void unhandled.push(error))

/** Lets abandoned handlers (those that ignore their signal) finish, then compares resources with the baseline. */
async function settle(probe: Probe, baseline: string[]): Promise<void> {
  for (let i = 0; i < 2_000 && probe.running > 0; i++) await new Promise((r) => setTimeout(r, 1))
  assert.is(probe.running, 0, 'handlers still running long after the run ended')
  for (let i = 0; i < 500; i++) {
    if (JSON.stringify(activeResources()) === JSON.stringify(baseline)) break
    await new Promise((r) => setImmediate(r))
  }
  assert.equal(activeResources(), baseline, 'resources left behind')
  assert.is(probe.disposes, probe.inits, 'every started worker is disposed exactly once')
  assert.equal(unhandled, [], 'no unhandled rejection or uncaught exception')
}

const property = suite('random pipelines')
let baseline: string[] = []
property.before(async () => {
  await new Promise((r) => setImmediate(r))
  baseline = activeResources()
})

property(`complete runs account for every item, keep order, concurrency and holding bounds (${RUNS} cases, seed ${SEED})`, async () => {
  await fc.assert(
    fc.asyncProperty(caseArb, async (raw) => {
      const c: Case = { ...raw, ending: { kind: 'complete' } }
      const probe = new Probe()
      const { ops, limits, ordered, held } = build(c, probe)
      const ids = Array.from({ length: c.items }, (_, i) => i)
      const seen: number[] = []
      let pulled = 0
      const counted = (function* () {
        for (const id of ids) {
          pulled++
          yield id
        }
      })()
      const flow = (pipe as (...args: unknown[]) => AsyncIterable<any>)(counted, ...ops)
      for await (const r of flow) {
        seen.push(idOf(r))
        // Pulled but not yet received: what the stages hold, plus the one in the consumer's hands.
        assert.ok(pulled - seen.length <= held, `the stages held ${pulled - seen.length} items, bound ${held}`)
      }
      assert.equal([...seen].sort((a, b) => a - b), ids, 'each input leaves exactly once, as a Right or a Left')
      if (ordered) assert.equal(seen, ids, 'ordered stages keep source order')
      limits.forEach((limit, i) => assert.ok(probe.maxActive[i]! <= limit, `stage ${i} ran ${probe.maxActive[i]} handlers at once, limit ${limit}`))
      await settle(probe, baseline)
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true, includeErrorInReport: true },
  )
})

property(`runs that end early (break, cancel, kill) lose nothing, duplicate nothing, leave nothing (${RUNS} cases, seed ${SEED})`, async () => {
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const probe = new Probe()
      if (c.ending.kind === 'kill') probe.killAt = c.ending.at
      const { ops } = build(c, probe)
      const ids = Array.from({ length: c.items }, (_, i) => i)
      const flow = (pipe as (...args: unknown[]) => AsyncIterable<any>)(ids, ...ops)
      const seen = new Set<number>()
      const ending = c.ending
      if (ending.kind === 'break') {
        let n = 0
        for await (const r of flow) {
          const id = idOf(r)
          assert.not.ok(seen.has(id), `item ${id} emitted twice`)
          seen.add(id)
          if (++n > ending.after) break
        }
      } else {
        const ac = new AbortController()
        let n = 0
        const result = await collect(
          (async function* () {
            for await (const r of flow) {
              yield r
              if (ending.kind === 'cancel' && ++n > ending.after) ac.abort()
            }
          })(),
          { signal: ac.signal },
        )
        if (result._tag === 'Right') {
          const all = [...result.right.values, ...result.right.errors.map((e) => e.item)] as number[]
          assert.equal(new Set(all).size, all.length, 'nothing duplicated')
          if (ending.kind === 'complete' || !ids.includes(ending.kind === 'kill' ? ending.at : -1)) {
            if (ending.kind !== 'cancel') assert.equal(all.sort((a, b) => a - b), ids, 'a run that completes accounts for every item')
          }
        } else {
          const kinds = ending.kind === 'kill' ? ['killed'] : ['cancelled']
          assert.ok(kinds.includes(result.left.kind), `ended as ${result.left.kind}, expected ${kinds}`)
        }
      }
      await settle(probe, baseline)
    }),
    { numRuns: RUNS, seed: SEED + 1, endOnFailure: true, includeErrorInReport: true },
  )
})

property.run()
