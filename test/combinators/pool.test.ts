import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { tap } from 'ix/asynciterable/operators/tap'
import { left, pipe, pool, right, StageError, values, WorkerState, type Either } from '../../src/index.js'
import { counting, deferred, drain, seeded, sleep, withTimeout, idle, typeError, until, isL } from '../_helpers.js'

// ---- concurrency and order ---------------------------------------------------

test('pool reaches its concurrency and never exceeds it', async () => {
  const rand = seeded(1)
  let active = 0
  let peak = 0
  const handler = async (n: number) => {
    active++
    peak = Math.max(peak, active)
    await sleep(Math.floor(rand() * 4))
    active--
    return n
  }
  const out = await withTimeout(drain(pipe(Array.from({ length: 60 }, (_, i) => i), pool(handler, 4), values())), 10_000)
  assert.equal(peak, 4)
  assert.equal(out.slice().sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i))
})

test('ordered: true emits in input order under random latencies', async () => {
  const rand = seeded(2)
  const delays = Array.from({ length: 80 }, () => Math.floor(rand() * 6))
  let completionOrder: number[] = []
  const handler = async (n: number) => {
    await sleep(delays[n]!)
    completionOrder.push(n)
    return n * 10
  }
  const input = Array.from({ length: 80 }, (_, i) => i)
  const out = await withTimeout(drain(pipe(input, pool(handler, { concurrency: 6, ordered: true }), values())), 10_000)
  assert.equal(out, input.map((n) => n * 10))
  // the latencies did reorder completion, so ordering is the stage's doing
  assert.not.equal(completionOrder, input)
})

test('ordered: false lets a fast item overtake a slow one', async () => {
  const gate = deferred()
  const handler = async (name: string) => {
    if (name === 'slow') await gate.promise
    return name
  }
  const it = pipe(['slow', 'fast'], pool(handler, 2), values())[Symbol.asyncIterator]()
  const first = await withTimeout(it.next(), 2_000)
  assert.equal(first.value, 'fast')
  gate.resolve()
  assert.equal((await it.next()).value, 'slow')
  assert.ok((await it.next()).done)
})

test('ordered: true holds a fast item back behind a slow one', async () => {
  const gate = deferred()
  let fastDone = false
  const handler = async (name: string) => {
    if (name === 'slow') await gate.promise
    else fastDone = true
    return name
  }
  const it = pipe(['slow', 'fast'], pool(handler, { concurrency: 2, ordered: true }), values())[Symbol.asyncIterator]()
  const first = it.next()
  await until(() => fastDone, 'the fast item finishing')
  gate.resolve()
  assert.equal((await first).value, 'slow')
  assert.equal((await it.next()).value, 'fast')
})

// ---- backpressure ---------------------------------------------------------------

for (const [b, c] of [
  [0, 1],
  [1, 1],
  [3, 2],
  [5, 4],
] as const) {
  test(`backpressure: buffer ${b}, concurrency ${c} pulls at most ${b + c + 1} items while the consumer waits`, async () => {
    const src = counting()
    const flow = pipe(src.source, pool(async (n: number) => n, { buffer: b, concurrency: c }))
    const it = flow[Symbol.asyncIterator]()
    const first = await withTimeout(it.next(), 2_000)
    assert.equal(first.value, right(0))
    await until(() => src.pulled() >= b + c, 'the stage refilling')
    await idle(50)
    assert.ok(src.pulled() <= b + c + 1, `pulled ${src.pulled()} > ${b + c + 1}`)
    // the same holds while a handler is blocked
    await it.return!()
    await withTimeout(src.closed, 2_000, 'source finally')
  })
}

test('backpressure: a blocked stage holds buffer + concurrency items and pulls no more', async () => {
  const gate = deferred()
  const src = counting()
  const started: number[] = []
  const flow = pipe(
    src.source,
    pool(
      async (n: number) => {
        started.push(n)
        await gate.promise
        return n
      },
      { buffer: 3, concurrency: 2 },
    ),
  )
  const it = flow[Symbol.asyncIterator]()
  const first = it.next()
  await until(() => started.length === 2, 'both workers busy')
  await idle(50)
  assert.equal(started.length, 2)
  assert.ok(src.pulled() <= 3 + 2 + 1, `pulled ${src.pulled()}`)
  assert.ok(src.pulled() >= 3 + 2, `pulled only ${src.pulled()}`)
  gate.resolve()
  await first
  await it.return!()
})

test('backpressure: a chain of three stages holds at most the sum of their bounds', async () => {
  const src = counting()
  const stages = [
    { buffer: 2, concurrency: 3 },
    { buffer: 1, concurrency: 1 },
    { buffer: 4, concurrency: 2 },
  ]
  const bound = stages.reduce((sum, s) => sum + s.buffer + s.concurrency, 0)
  const flow = pipe(
    src.source,
    pool(async (n: number) => n, stages[0]),
    pool(async (n: number) => n, stages[1]),
    pool((n: number) => n, stages[2]),
  )
  const it = flow[Symbol.asyncIterator]()
  assert.equal((await withTimeout(it.next(), 2_000)).value, right(0))
  await until(() => src.pulled() >= bound - 2, 'the chain refilling')
  await idle(80)
  assert.ok(src.pulled() <= bound + 1, `pulled ${src.pulled()} > ${bound + 1}`)
  // consuming more keeps it bounded relative to what was taken
  for (let i = 1; i <= 10; i++) assert.equal((await it.next()).value, right(i), 'unordered but a chain of FIFO stages at c=1 stays in order')
  await idle(80)
  assert.ok(src.pulled() <= bound + 11, `pulled ${src.pulled()} > ${bound + 11}`)
  await it.return!()
  await withTimeout(src.closed, 2_000, 'source finally')
})

// ---- accounting -----------------------------------------------------------------

type Item = { id: number; s: number }
const N = 10_000
const FAILURE_KINDS = ['throw', 'reject', 'left', 'string', 'number', 'object', 'undefined', 'null'] as const
type Kind = 'ok' | 'okAsync' | 'okLater' | (typeof FAILURE_KINDS)[number]

/** Deterministic per (stage, id): what the handler does. About 15% fail. */
function plan(stage: number, id: number): Kind {
  const r = seeded(id * 31 + stage * 100_003)()
  if (r < 0.15) return FAILURE_KINDS[Math.floor((r / 0.15) * FAILURE_KINDS.length)]!
  if (r < 0.5) return 'ok'
  if (r < 0.95) return 'okAsync'
  return 'okLater'
}

function thrown(kind: Kind, stage: number, id: number): unknown {
  switch (kind) {
    case 'throw':
    case 'reject':
    case 'left':
      return new Error(`${kind} ${stage}/${id}`)
    case 'string':
      return `string ${stage}/${id}`
    case 'number':
      return id
    case 'object':
      return { code: 'E_OBJ', id }
    case 'undefined':
      return undefined
    case 'null':
      return null
    default:
      throw new Error('not a failure')
  }
}

function stageHandler(stage: number, seen: Map<number, number>) {
  return (input: number | Item): Item | Promise<Item> | Either<unknown, Item> => {
    const id = typeof input === 'number' ? input : input.id
    if (typeof input !== 'number') assert.is(input.s, stage - 1, 'handler got the previous stage output, unwrapped')
    seen.set(id, (seen.get(id) ?? 0) + 1)
    const kind = plan(stage, id)
    const value = { id, s: stage }
    switch (kind) {
      case 'ok':
        return value
      case 'okAsync':
        return Promise.resolve(value)
      case 'okLater':
        return new Promise((resolve) => setImmediate(() => resolve(value)))
      case 'reject':
        return Promise.reject(thrown(kind, stage, id))
      case 'left':
        return left(thrown(kind, stage, id))
      default:
        throw thrown(kind, stage, id)
    }
  }
}

function idOf(r: Either<StageError, Item>): number {
  if (isL(r)) {
    const item = r.left.item as number | Item
    return typeof item === 'number' ? item : item.id
  }
  return r.right.id
}

test('accounting: 10,000 items, three stages, random failures: one output per input per stage, Lefts keep their place', async () => {
  const seen = [new Map<number, number>(), new Map<number, number>(), new Map<number, number>()]
  const after: Either<StageError, Item>[][] = [[], [], []]
  const flow = pipe(
    Array.from({ length: N }, (_, i) => i),
    pool(stageHandler(1, seen[0]!), { concurrency: 4, name: 's1' }),
    tap((r: Either<StageError, Item>) => void after[0]!.push(r)),
    pool(stageHandler(2, seen[1]!), { concurrency: 3, ordered: true, name: 's2' }),
    tap((r: Either<StageError, Item>) => void after[1]!.push(r)),
    pool(stageHandler(3, seen[2]!), { concurrency: 2, ordered: true, buffer: 3, name: 's3' }),
  )
  const out = await withTimeout(drain(flow), 20_000, 'accounting run')
  after[2] = out

  for (let s = 0; s < 3; s++) {
    assert.is(after[s]!.length, N, `stage ${s + 1} output count`)
    const ids = after[s]!.map(idOf).sort((a, b) => a - b)
    for (let i = 0; i < N; i++) if (ids[i] !== i) assert.unreachable(`stage ${s + 1}: id ${i} lost or repeated`)
  }

  // stage 1 saw every input exactly once; its failures are the planned ones, with the value thrown
  for (let id = 0; id < N; id++) assert.is(seen[0]!.get(id), 1)
  for (const r of after[0]!) {
    const id = idOf(r)
    const kind = plan(1, id)
    if (isL(r)) {
      assert.ok((FAILURE_KINDS as readonly string[]).includes(kind), `id ${id} failed but planned ${kind}`)
      assert.ok(r.left instanceof StageError)
      assert.is(r.left.stage, 's1')
      assert.is(r.left.item, id)
      assert.is(r.left.attempts, 1)
      assert.equal(r.left.cause, thrown(kind, 1, id))
    } else assert.ok(!(FAILURE_KINDS as readonly string[]).includes(kind), `id ${id} planned ${kind} but succeeded`)
  }

  // later stages: position preserved (ordered), Lefts passed untouched and not handed to the handler
  for (const s of [1, 2]) {
    const input = after[s - 1]!
    const output = after[s]!
    for (let i = 0; i < N; i++) {
      const a = input[i]!
      const b = output[i]!
      const id = idOf(a)
      if (isL(a)) {
        if (b !== a) assert.unreachable(`stage ${s + 1}, position ${i}: a Left input did not pass through untouched`)
        if (seen[s]!.has(id)) assert.unreachable(`stage ${s + 1} handler was given the Left of id ${id}`)
        continue
      }
      if (seen[s]!.get(id) !== 1) assert.unreachable(`stage ${s + 1} saw id ${id} ${seen[s]!.get(id) ?? 0} times`)
      const kind = plan(s + 1, id)
      const shouldFail = (FAILURE_KINDS as readonly string[]).includes(kind)
      if (isL(b)) {
        if (!shouldFail) assert.unreachable(`stage ${s + 1}: id ${id} failed unexpectedly: ${b.left.message}`)
        assert.is(b.left.stage, `s${s + 1}`)
        assert.is(b.left.item, a.right, 'the StageError keeps the input it was given')
        assert.equal(b.left.errors, [thrown(kind, s + 1, id)])
      } else {
        if (shouldFail) assert.unreachable(`stage ${s + 1}: id ${id} planned ${kind} but succeeded`)
        if (b.right.id !== id || b.right.s !== s + 1) assert.unreachable(`stage ${s + 1}, position ${i}: expected id ${id}, got ${JSON.stringify(b.right)}`)
      }
    }
  }
  const failed = out.filter(isL).length
  assert.ok(failed > N * 0.3 && failed < N * 0.5, `about 39% should fail over three stages, got ${failed}`)
})

// ---- failures, retries in place ---------------------------------------------

test('an async rejection is a failed attempt exactly like a throw, and is retried', async () => {
  const calls = new Map<string, number[]>()
  const handler = async (kind: string, ctx: { attempt: number }) => {
    calls.set(kind, [...(calls.get(kind) ?? []), ctx.attempt])
    await sleep(1)
    if (ctx.attempt < 3) {
      if (kind === 'reject') throw new Error(`reject ${ctx.attempt}`) // rejects after an await
      if (kind === 'left') return left(new Error(`left ${ctx.attempt}`))
    }
    return kind
  }
  const syncHandler = (kind: string, ctx: { attempt: number }) => {
    calls.set(kind, [...(calls.get(kind) ?? []), ctx.attempt])
    if (ctx.attempt < 3) throw new Error(`throw ${ctx.attempt}`)
    return kind
  }
  const a = await drain(pipe(['reject', 'left'], pool(handler, { concurrency: 2, retries: 2, ordered: true })))
  const b = await drain(pipe(['throw'], pool(syncHandler, { retries: 2 })))
  assert.equal(a, [right('reject'), right('left')])
  assert.equal(b, [right('throw')])
  assert.equal(calls.get('reject'), [1, 2, 3])
  assert.equal(calls.get('left'), [1, 2, 3])
  assert.equal(calls.get('throw'), [1, 2, 3])
})

test('a rejection that outlives the retries gives a StageError with every attempt, oldest first', async () => {
  const handler = async (n: number, ctx: { attempt: number }) => {
    await new Promise((resolve) => setImmediate(resolve))
    return Promise.reject(new Error(`attempt ${ctx.attempt} of ${n}`))
  }
  const [r] = await drain(pipe([7], pool(handler, { retries: 2 })))
  assert.ok(r && isL(r))
  const error = r.left as StageError
  assert.ok(error instanceof StageError)
  assert.is(error.stage, 'handler')
  assert.is(error.item, 7)
  assert.is(error.attempts, 3)
  assert.equal(
    error.errors.map((e) => (e as Error).message),
    ['attempt 1 of 7', 'attempt 2 of 7', 'attempt 3 of 7'],
  )
  assert.is(error.cause, error.errors[2])
})

test('a Left input passes through without reaching the handler', async () => {
  const seen: unknown[] = []
  const bad = left(new StageError('earlier', 'x', [new Error('no')]))
  const out = await drain(pipe([right(1), bad, 2, right(3)], pool((n: number) => (seen.push(n), n + 1), { ordered: true })))
  assert.equal(seen, [1, 2, 3])
  assert.is(out[1], bad)
  assert.equal(out[0], right(2))
  assert.equal(out[2], right(3))
  assert.equal(out[3], right(4))
})

// ---- per-worker state, init, dispose ---------------------------------------------

test('per-worker state: one distinct object per worker, persisting across its items', async () => {
  const rand = seeded(5)
  const states = new Set<WorkerState>()
  const byWorker = new Map<number, WorkerState>()
  const handled = new Map<number, number>()
  const handler = async (n: number, ctx: { state: WorkerState; worker: number }) => {
    states.add(ctx.state)
    const known = byWorker.get(ctx.worker)
    if (known) assert.is(known, ctx.state, 'a worker keeps its state object')
    else byWorker.set(ctx.worker, ctx.state)
    ctx.state.set('count', (ctx.state.get('count') ?? 0) + 1)
    handled.set(ctx.worker, (handled.get(ctx.worker) ?? 0) + 1)
    await sleep(Math.floor(rand() * 3))
    return n
  }
  await drain(pipe(Array.from({ length: 100 }, (_, i) => i), pool(handler, 5)))
  assert.is(states.size, 5)
  assert.equal([...byWorker.keys()].sort(), [0, 1, 2, 3, 4])
  let total = 0
  for (const [worker, state] of byWorker) {
    assert.is(state.get('count'), handled.get(worker), `worker ${worker}'s count persisted across its items`)
    assert.ok(state.get('count') > 1)
    total += state.get('count')
  }
  assert.is(total, 100)
})

function lifecycle() {
  const events: string[] = []
  let inits = 0
  let disposes = 0
  const options = {
    init: async (ctx: { worker: number }) => {
      inits++
      await sleep(1)
      events.push(`init ${ctx.worker}`)
      return { conn: `conn-${ctx.worker}` }
    },
    dispose: (state: WorkerState, ctx: { worker: number }) => {
      disposes++
      assert.is(state.get('conn'), `conn-${ctx.worker}`, 'dispose gets the worker state init seeded')
      events.push(`dispose ${ctx.worker}`)
    },
  }
  return { events, options, inits: () => inits, disposes: () => disposes }
}

function checkLifecycle(events: string[], workers: number): void {
  for (let w = 0; w < workers; w++) {
    const mine = events.map((e, i) => [e, i] as const).filter(([e]) => e.endsWith(` ${w}`))
    if (mine.length === 0) continue
    assert.is(mine.filter(([e]) => e.startsWith('init')).length, 1, `worker ${w} init once`)
    assert.is(mine.filter(([e]) => e.startsWith('dispose')).length, 1, `worker ${w} dispose once`)
    assert.ok(mine[0]![0].startsWith('init'), `worker ${w}: init first`)
    assert.ok(mine[mine.length - 1]![0].startsWith('dispose'), `worker ${w}: dispose last`)
  }
}

test('init runs once per worker before its first item; dispose once after its last', async () => {
  const lc = lifecycle()
  const handler = async (n: number, ctx: { worker: number; state: WorkerState }) => {
    assert.is(ctx.state.get('conn'), `conn-${ctx.worker}`)
    lc.events.push(`item ${ctx.worker}`)
    await sleep(1)
    return n
  }
  const out = await drain(pipe(Array.from({ length: 30 }, (_, i) => i), pool(handler, { concurrency: 3, ...lc.options }), values()))
  assert.is(out.length, 30)
  assert.is(lc.inits(), 3)
  assert.is(lc.disposes(), 3, 'every worker disposed before the consumer saw the end')
  checkLifecycle(lc.events, 3)
})

test('dispose runs once per worker after a break', async () => {
  const lc = lifecycle()
  const src = counting()
  const handler = async (n: number, ctx: { worker: number }) => {
    lc.events.push(`item ${ctx.worker}`)
    await sleep(1)
    return n
  }
  let seen = 0
  for await (const _ of pipe(src.source, pool(handler, { concurrency: 3, ...lc.options }))) if (++seen === 6) break
  assert.ok(lc.inits() > 0)
  assert.is(lc.disposes(), lc.inits())
  checkLifecycle(lc.events, 3)
  await withTimeout(src.closed, 1_000, 'source finally')
})

test('dispose runs once per worker after failures and after a source failure', async () => {
  const lc = lifecycle()
  const handler = (n: number, ctx: { worker: number }) => {
    lc.events.push(`item ${ctx.worker}`)
    if (n % 2) throw new Error('odd')
    return n
  }
  const out = await drain(pipe([1, 2, 3, 4], pool(handler, { concurrency: 2, ...lc.options })))
  assert.is(out.filter(isL).length, 2)
  assert.is(lc.disposes(), lc.inits())
  checkLifecycle(lc.events, 2)

  const lc2 = lifecycle()
  async function* failing() {
    yield 1
    yield 2
    throw new Error('source broke')
  }
  let caught: unknown
  try {
    await drain(pipe(failing(), pool(handler, { concurrency: 2, ...lc2.options })))
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof Error, 'the source failure reaches the consumer')
  assert.ok(lc2.inits() > 0)
  assert.is(lc2.disposes(), lc2.inits())
  checkLifecycle(lc2.events, 2)
})

test('init that fails turns the items into Lefts carrying its error, and the run ends', async () => {
  const boom = new Error('cannot connect')
  let disposed = 0
  const out = await withTimeout(
    drain(
      pipe(
        [1, 2, 3],
        pool((n: number) => n, {
          concurrency: 2,
          init: () => {
            throw boom
          },
          dispose: () => void disposed++,
        }),
      ),
    ),
    2_000,
  )
  assert.is(out.length, 3)
  for (const r of out) {
    assert.ok(isL(r))
    assert.is(r.left.cause, boom)
  }
  assert.is(disposed, 0, 'a worker whose init failed has nothing to dispose')
})

test('a worker whose init is still running when the pipeline stops is disposed once that init completes', async () => {
  const initGate = deferred()
  const initStarted = deferred()
  let disposes = 0
  let disposedConn: unknown
  let handled = 0
  const it = pipe(
    [1, 2],
    pool((n: number) => (handled++, n), {
      init: async () => {
        initStarted.resolve()
        await initGate.promise
        return { conn: 'open' } // e.g. a connection that must be closed
      },
      dispose: (state) => {
        disposes++
        disposedConn = state.get('conn')
      },
    }),
  )[Symbol.asyncIterator]()
  const pending = it.next()
  await withTimeout(initStarted.promise, 1_000)
  await it.return!()
  assert.ok((await pending).done)
  initGate.resolve()
  await until(() => disposes === 1, 'dispose after the late init')
  await idle(10)
  assert.is(disposes, 1)
  assert.is(disposedConn, 'open')
  assert.is(handled, 0, 'no item runs on a stopped stage')

  // and an init that fails after the stop is not disposed and does not crash anything
  const failGate = deferred()
  let disposes2 = 0
  const it2 = pipe(
    [1],
    pool((n: number) => n, {
      init: async () => {
        await failGate.promise
        throw new Error('late init failure')
      },
      dispose: () => void disposes2++,
    }),
  )[Symbol.asyncIterator]()
  const pending2 = it2.next()
  await idle(5)
  await it2.return!()
  failGate.resolve()
  assert.ok((await pending2).done)
  await idle(10)
  assert.is(disposes2, 0)
})

test('a timeout must fit a timer: beyond 2^31-1 ms is a TypeError, not a 1 ms timeout', async () => {
  typeError(() => pool((n: number) => n, { timeout: 2 ** 31 }), 'pool', 'timeout')
  const out = await drain(pipe([1], pool(async (n: number) => (await sleep(5), n), { timeout: 2 ** 31 - 1 })))
  assert.equal(out, [right(1)])
})

// ---- bad input ----------------------------------------------------------------------

test('pool: bad arguments are TypeErrors at composition naming the stage and argument', () => {
  const h = (n: number) => n
  typeError(() => pool(h, 0), 'pool', 'concurrency')
  typeError(() => pool(h, 1.5), 'pool', 'concurrency')
  typeError(() => pool(h, { concurrency: 0 }), 'pool', 'concurrency')
  typeError(() => pool(h, { concurrency: -2 }), 'pool', 'concurrency')
  typeError(() => pool(h, { concurrency: '2' as never }), 'pool', 'concurrency')
  typeError(() => pool(h, { buffer: -1 }), 'pool', 'buffer')
  typeError(() => pool(h, { buffer: 0.5 }), 'pool', 'buffer')
  typeError(() => pool(h, { retries: -1 }), 'pool', 'retries')
  typeError(() => pool(h, { timeout: 0 }), 'pool', 'timeout')
  typeError(() => pool(h, { ordered: 'yes' as never }), 'pool', 'ordered')
  typeError(() => pool(h, { init: 5 as never }), 'pool', 'init')
  typeError(() => pool(h, { dispose: {} as never }), 'pool', 'dispose')
  typeError(() => pool('not a function' as never, 2), 'pool', 'handler')
  typeError(() => pool(undefined as never), 'pool', 'handler')
  typeError(() => pool(h, { concurency: 2 } as never), 'pool', 'concurency')
  typeError(() => pool(h, { fork: undefined }), 'pool', 'fork')
  typeError(() => pool(h, { fork: 'merge' as never }), 'pool', 'fork')
  typeError(() => pool(h, null as never), 'pool', 'options')
  typeError(() => pool(h, { name: '' }), 'pool', 'name')
  typeError(() => pipe(42 as never, pool(h)), 'pool', 'source')
})

test.run()
