// The random pipelines of hostile.test.ts: what a case is made of (items, stages, at most one thread
// stage, how the run ends), the handlers that throw, reject or return hostile values, and the pipeline built from a case.
import fc from 'fast-check'
import { left } from 'fp-ts/lib/Either.js'
import { batch, buffer, deadLetter, fork, mix, pool, retry, thread, unbatch, values, type Logger, type Operator, type StageContext } from '../../src/index.js'
import { BASE_KINDS, hostile, threadChaos, type BaseKind, type Kind } from './_hostile.js'

type Mode = 'echo' | 'throw' | 'reject' | 'left' | 'result'
interface Behaviour {
  mode: Mode
  value: Kind
  inner: BaseKind
  every: number // the mode applies to every `every`-th call; the others echo their item
  latency: number // ms; 0 = synchronous handler
  ignoreSignal: boolean
}
type Worker = { buffer: number; ordered: boolean; retries: number; timeout: number }
type StageDesc =
  | ({ kind: 'pool'; concurrency: number } & Worker & Behaviour)
  | ({ kind: 'mix'; handlers: number } & Worker & Behaviour)
  | ({ kind: 'fork'; branches: number; concurrency: number } & Worker & Behaviour)
  | { kind: 'retry'; retries: number; ordered: boolean; concurrency: number }
  | { kind: 'buffer'; size: number }
  | { kind: 'batch'; size: number }
  | { kind: 'values' }
  | { kind: 'deadLetter'; async: boolean }
type ThreadDesc = { at: number; in: 'pool' | 'mix' | 'fork'; fn: 'chaos' | 'echo'; concurrency: number; ordered: boolean; retries: number } & Behaviour
type ItemDesc = number | { kind: Kind; inner: BaseKind }
type Ending = { kind: 'complete' } | { kind: 'cancel'; after: number }
export interface Case {
  items: ItemDesc[]
  stages: StageDesc[]
  thread: ThreadDesc | null
  ending: Ending
  logged: boolean
}

const kindArb = fc.constantFrom<Kind>(...BASE_KINDS, 'realLeft', 'realRight')
const innerArb = fc.constantFrom<BaseKind>(...BASE_KINDS)
const behaviour = {
  mode: fc.constantFrom<Mode>('echo', 'throw', 'reject', 'left', 'result', 'result'),
  value: kindArb,
  inner: innerArb,
  every: fc.integer({ min: 1, max: 4 }),
  latency: fc.constantFrom(0, 0, 1, 2),
  ignoreSignal: fc.boolean(),
}
const worker = { buffer: fc.integer({ min: 0, max: 4 }), ordered: fc.boolean(), retries: fc.integer({ min: 0, max: 2 }), timeout: fc.constantFrom(0, 0, 0, 2, 20) }
const stageArb: fc.Arbitrary<StageDesc> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('pool' as const), concurrency: fc.integer({ min: 1, max: 8 }), ...worker, ...behaviour }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mix' as const), handlers: fc.integer({ min: 2, max: 3 }), ...worker, ...behaviour }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fork' as const), branches: fc.integer({ min: 2, max: 3 }), concurrency: fc.integer({ min: 1, max: 2 }), ...worker, ...behaviour }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('retry' as const), retries: fc.integer({ min: 1, max: 2 }), ordered: fc.boolean(), concurrency: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('buffer' as const), size: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('batch' as const), size: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'values' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deadLetter' as const), async: fc.boolean() }) },
)
const threadArb: fc.Arbitrary<ThreadDesc> = fc.record({
  at: fc.nat(4),
  in: fc.constantFrom('pool' as const, 'pool' as const, 'mix' as const, 'fork' as const),
  fn: fc.constantFrom('chaos' as const, 'chaos' as const, 'echo' as const),
  concurrency: fc.integer({ min: 1, max: 2 }),
  ordered: fc.boolean(),
  retries: fc.integer({ min: 0, max: 1 }),
  ...behaviour,
})
const itemArb: fc.Arbitrary<ItemDesc> = fc.oneof({ weight: 2, arbitrary: fc.nat(1000) }, { weight: 3, arbitrary: fc.record({ kind: kindArb, inner: innerArb }) })
export const caseArb: fc.Arbitrary<Case> = fc.record({
  items: fc.array(itemArb, { maxLength: 30 }),
  stages: fc.array(stageArb, { minLength: 1, maxLength: 4 }),
  // Threads take ~100 ms to start: one case in twelve has a thread stage.
  thread: fc.oneof({ weight: 11, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: threadArb }),
  ending: fc.oneof({ weight: 4, arbitrary: fc.constant({ kind: 'complete' as const }) }, { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), after: fc.nat(30) }) }),
  logged: fc.boolean(),
})

function read(message: string, ...details: unknown[]): void {
  void String(message)
  void details.length
}

/** What the run's handlers, logger and sinks did. */
export class Probe {
  running = 0
  sunk = 0
  /** A logger that reads what it is given, as a real one would (a short form built lazily gets built). */
  readonly log: Logger = { debug: read, info: read, warn: read, error: read }

  handler(b: Behaviour): (item: unknown, ctx: StageContext) => unknown {
    let calls = 0
    const act = (item: unknown): unknown => {
      if (b.mode === 'echo' || ++calls % b.every !== 0) return item
      const value = hostile(b.value, calls, b.inner)
      if (b.mode === 'throw') throw value
      if (b.mode === 'reject') return Promise.reject(value)
      return b.mode === 'left' ? left(value) : value
    }
    const probe = this
    if (b.latency === 0) return (item) => act(item)
    return async (item, ctx) => {
      probe.running++
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, b.latency)
          if (!b.ignoreSignal) ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)), { once: true })
        })
        return act(item)
      } finally {
        probe.running--
      }
    }
  }
}

export function build(c: Case, probe: Probe): Operator<any, any>[] {
  const ops: Operator<any, any>[] = []
  const merge = (results: unknown[]): unknown => results[0]
  c.stages.forEach((s, i) => {
    const t = c.thread !== null && c.thread.at % c.stages.length === i ? c.thread : null
    if (t !== null) {
      const onThread = thread(t.fn === 'chaos' ? threadChaos : (x: unknown) => x) as (item: unknown, ctx: StageContext) => unknown
      const options = { ordered: t.ordered, retries: t.retries }
      if (t.in === 'pool') ops.push(pool(onThread, { concurrency: t.concurrency, ...options }))
      else if (t.in === 'mix') ops.push(mix([onThread, probe.handler(t)], options))
      else ops.push(fork([onThread, probe.handler(t)], merge, { concurrency: t.concurrency, ...options }))
    }
    const worker = (w: Worker) => ({ buffer: w.buffer, ordered: w.ordered, retries: w.retries, ...(w.timeout > 0 ? { timeout: w.timeout } : {}) })
    switch (s.kind) {
      case 'pool':
        return ops.push(pool(probe.handler(s), { concurrency: s.concurrency, ...worker(s) }))
      case 'mix':
        return ops.push(mix(Array.from({ length: s.handlers }, () => probe.handler(s)), worker(s)))
      case 'fork':
        return ops.push(fork(Array.from({ length: s.branches }, () => probe.handler(s)), merge, { concurrency: s.concurrency, ...worker(s) }))
      case 'retry':
        return ops.push(retry({ retries: s.retries, backoff: 'linear', baseMs: 1, ordered: s.ordered, concurrency: s.concurrency }))
      case 'buffer':
        return ops.push(buffer(s.size))
      case 'batch':
        return ops.push(batch(s.size), unbatch())
      case 'values':
        return ops.push(values())
      case 'deadLetter':
        return ops.push(deadLetter(s.async ? { write: async () => void probe.sunk++ } : () => void probe.sunk++))
    }
  })
  return ops
}

/** The items of a case: numbers and fresh hostile values, with at most one 1 MB Buffer. */
export function itemsOf(c: Case): unknown[] {
  let buffers = 0
  return c.items.map((d, i) => {
    if (typeof d === 'number') return d
    const big = d.kind === 'buffer' || ((d.kind === 'realLeft' || d.kind === 'realRight') && d.inner === 'buffer')
    if (big && ++buffers > 1) return i
    return hostile(d.kind, i, d.inner)
  })
}
