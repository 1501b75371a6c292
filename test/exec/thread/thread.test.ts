import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  collect,
  fork,
  isLeft,
  isRight,
  mix,
  pipe,
  pool,
  retry,
  run,
  StageError,
  thread,
  ThreadError,
  TimeoutError,
  values,
  type Either,
  type Logger,
  type ThreadOptions,
} from '../../../src/index.js'
import { MAX_LOAD_ATTEMPTS, threadCounters, threadTunables } from '../../../src/exec/thread/thread-host.js'
import { assertNoLeaks, counting, deferred, withTimeout, idle, until, baseline, leftOf, range, right, slowInit } from '../../_helpers.js'
import type * as Fixture from '../../fixtures/thread-cpu.js'

const fixture = new URL('../../fixtures/thread-cpu.ts', import.meta.url)
const cpu = <K extends keyof typeof Fixture>(name: K, options?: ThreadOptions) =>
  thread<(typeof Fixture)[K] extends (...args: any[]) => any ? (typeof Fixture)[K] : never>(fixture, name, options)

/** Every thread is gone, and the process holds nothing that would keep it alive. */
async function noThreadsLeft(resources: string[], what: string): Promise<void> {
  await until(() => threadCounters.live === 0, `${what}: all threads end`, 5_000)
  await assertNoLeaks(resources, what)
}

const spinUntil = async (condition: () => boolean, what: string): Promise<void> => until(condition, what, 10_000)

// --- the two forms, results, per-thread context ---------------------------------------------------

test('pool(thread(url), 2): real CPU work on two threads, all of them gone when the run ends', async () => {
  const resources = await baseline()
  const spawned = threadCounters.spawned
  const items = range(300).map((i) => 1_000 + (i % 7) * 500)
  const flow = pipe(items, pool(thread(fixture), 2))
  let liveDuring = 0
  const out: number[] = []
  for await (const r of flow) {
    liveDuring = Math.max(liveDuring, threadCounters.live)
    assert.ok(isRight(r), 'every item succeeds')
    if (isRight(r)) out.push(r.right)
  }
  assert.is(liveDuring, 2, 'two threads while it runs')
  assert.is(threadCounters.spawned - spawned, 2, 'one thread per worker, each started once')
  const expected = items.map((n) => {
    let x = 0
    for (let i = 0; i < n; i++) x += Math.sqrt(i)
    return Math.round(x)
  })
  assert.equal(out.sort((a, b) => a - b), expected.sort((a, b) => a - b))
  await noThreadsLeft(resources, 'after a normal end')
})

test('thread(fn): a self-contained function runs from its source, inner helpers included', async () => {
  const resources = await baseline()
  const result = right(
    await collect(
      pipe(
        [10, 20, 30],
        pool(
          thread(function sumRoots(n: number, ctx) {
            const root = (i: number): number => Math.sqrt(i)
            let x = 0
            for (let i = 0; i < n; i++) x += root(i)
            return { n, x: Math.round(x * 1000), worker: ctx.worker }
          }),
          { ordered: true, name: 'roots' },
        ),
      ),
    ),
  )
  assert.equal(
    result.values.map((v) => v.n),
    [10, 20, 30],
  )
  assert.is(result.values[1]!.x, Math.round([...Array(20).keys()].reduce((s, i) => s + Math.sqrt(i), 0) * 1000))
  assert.is(result.report.stages[0]!.name, 'roots')
  await noThreadsLeft(resources, 'after thread(fn)')
})

test('thread(fn): a function that uses a variable from its surroundings gets an error naming it', async () => {
  const factor = 3
  const result = right(await collect(pipe([1, 2], pool(thread((n: number) => n * factor)))))
  assert.is(result.values.length, 0)
  assert.is(result.errors.length, 2)
  const cause = result.errors[0]!.cause as Error
  assert.is(cause.name, 'ReferenceError')
  assert.match(cause.message, '`factor` is not defined in the worker thread')
  assert.match(cause.message, 'move the function')
  assert.match(cause.message, 'module')
})

test('types: a thread stage emits what its function returns, promises and Eithers unwrapped', () => {
  type Out<F> = F extends AsyncIterable<infer T> ? T : never
  type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false
  const fromFn = pipe([1], pool(thread(async (n: number) => `${n}`)))
  const fromModule = pipe([1], pool(cpu('count')))
  const a: Equal<Out<typeof fromFn>, Either<StageError, string>> = true
  const b: Equal<Out<typeof fromModule>, Either<StageError, { n: number; worker: number; seen: number; threadId: number }>> = true
  assert.ok(a && b)
  assert.is(threadCounters.live, 0, 'composing a pipeline starts no thread')
})

test('thread(): bad arguments are TypeErrors at composition time', () => {
  assert.throws(() => thread('./relative.js'), /new URL\("\.\/relative\.js", import\.meta\.url\)/)
  assert.throws(() => thread(Math.max as never), /native or bound/)
  assert.throws(() => thread(fixture, { maxBatch: 0 }), /maxBatch/)
  assert.throws(() => thread(fixture, { nope: 1 } as never), /unknown option `nope`/)
  assert.throws(() => (thread(fixture) as unknown as () => void)(), /runs inside pool, mix or fork/)
})

test('ctx in the thread: state lives in its thread, worker/stage/attempt are set', async () => {
  const result = right(await collect(pipe(range(60), pool(cpu('count'), 2))))
  assert.is(result.values.length, 60)
  const byWorker = new Map<number, number[]>()
  const threadIds = new Map<number, Set<number>>()
  for (const v of result.values) {
    byWorker.set(v.worker, [...(byWorker.get(v.worker) ?? []), v.seen])
    threadIds.set(v.worker, (threadIds.get(v.worker) ?? new Set()).add(v.threadId))
  }
  assert.equal([...byWorker.keys()].sort(), [0, 1], 'both threads took items')
  for (const [worker, seen] of byWorker) {
    assert.equal(
      seen.sort((a, b) => a - b),
      range(seen.length).map((i) => i + 1),
      `worker ${worker} counted its own items in its own state`,
    )
    assert.is(threadIds.get(worker)!.size, 1, `worker ${worker} is one thread`)
  }
  assert.is.not([...threadIds.get(0)!][0], [...threadIds.get(1)!][0], 'two different threads')
  const echoed = right(await collect(pipe(['a'], pool(cpu('echo'), { name: 'echoer' }))))
  assert.equal(echoed.values[0], { item: 'a', worker: 0, stage: 'echoer', attempt: 1 })
})

test('ctx.env is cloned into each thread once, not per item; init seeds ctx.state in the thread', async () => {
  let clones = 0
  const env = {
    tag: 'blue',
    get probe(): number {
      return ++clones // structured clone reads every property: one read per clone
    },
  }
  const result = right(await collect(pipe(range(40), pool(cpu('envProbe'), { concurrency: 2, init: () => ({ seed: 'from init' }) })), { env }))
  assert.is(result.values.length, 40)
  assert.ok(result.values.every((v) => v.tag === 'blue' && v.same && v.seed === 'from init'))
  assert.is(clones, 2, 'one clone per thread')
})

test('an env with something that cannot be cloned: the rest reaches the thread, reading that key says why', async () => {
  const env = { tag: 'green', db: { query: () => 1 } }
  const result = right(await collect(pipe(['tag', 'db'], pool(cpu('envKey'), { ordered: true })), { env }))
  assert.equal(result.values, ['green'])
  assert.is(result.errors[0]!.item, 'db')
  assert.match((result.errors[0]!.cause as Error).message, "ctx.env.db is not available in a worker thread: it holds something that can't be cloned")
})

// --- errors -----------------------------------------------------------------------------------------

test('errors thrown in a thread keep their name, message, stack and properties; Lefts pass as failures', async () => {
  const result = right(await collect(pipe([1, 2, 3, 4], pool(cpu('picky'), { ordered: true }))))
  assert.equal(result.values, [2])
  assert.is(result.errors.length, 3)
  const [odd1, odd3, four] = result.errors as StageError[]
  assert.ok(odd1 instanceof StageError)
  const cause = odd1!.cause as Error & { code: number }
  assert.ok(cause instanceof Error)
  assert.is(cause.name, 'ValidationError')
  assert.is(cause.message, 'odd item 1')
  assert.is(cause.code, 401)
  assert.match(cause.stack!, 'ValidationError: odd item 1')
  assert.match(cause.stack!, 'thread-cpu.ts', 'the stack points into the thread module')
  assert.match(odd1!.message, 'odd item 1')
  assert.is(odd1!.item, 1)
  assert.is((four!.cause as Error).name, 'RangeError')
  assert.ok(four!.cause instanceof RangeError)
  assert.is((odd3!.cause as Error).message, 'odd item 3')
})

test('a result that cannot be cloned fails its own item with a clear error, not the batch, and does not hang', async () => {
  const result = right(await withTimeout(collect(pipe(range(40), pool(cpu('unclonable')))), 20_000, 'collect'))
  assert.is(result.values.length, 39)
  assert.is(result.errors.length, 1)
  const error = result.errors[0]!
  assert.is(error.item, 13)
  assert.is((error.cause as Error).name, 'DataCloneError')
  assert.match((error.cause as Error).message, "can't be structured-cloned")
})

test('an item that cannot be cloned fails alone; the others go through', async () => {
  const items: unknown[] = [1, 2, { fn: () => 3 }, 4]
  const result = right(await collect(pipe(items, pool(cpu('echo')))))
  assert.is(result.values.length, 3)
  assert.is(result.errors.length, 1)
  const cause = result.errors[0]!.cause as ThreadError
  assert.ok(cause instanceof ThreadError)
  assert.is(cause.reason, 'unsendable')
  assert.match(cause.message, 'could not be sent to worker thread')
})

test('retries in place re-run an item in its thread with ctx.attempt counting', async () => {
  const result = right(await collect(pipe([1, 2, 3], pool(cpu('flaky'), { retries: 1, ordered: true }))))
  assert.equal(result.values, [12, 22, 32])
  assert.is(result.report.stages[0]!.retried, 3)
})

test('a downstream retry replays failed items in the stage threads, starting no others', async () => {
  const spawned = threadCounters.spawned
  const result = right(await collect(pipe(range(8), pool(cpu('flaky'), { name: 'flaky' }), retry({ retries: 1, backoff: 'none' }))))
  assert.equal(
    result.values.sort((a, b) => a - b),
    range(8).map((n) => n * 10 + 2),
  )
  assert.is(threadCounters.spawned - spawned, 1, 'the replays ran on the stage thread')
})

test('ctx.log in a thread reaches the run logger', async () => {
  const lines: string[] = []
  const log: Logger = { debug() {}, info() {}, warn: (message) => void lines.push(message), error() {} }
  right(await collect(pipe([7], pool(cpu('logs'))), { log }))
  assert.ok(lines.includes('thread says 7'), lines.join('\n'))
})

// --- batching -------------------------------------------------------------------------------------------

test('small queued items travel in batches: far fewer messages than items', async () => {
  const before = { ...threadCounters }
  const result = right(await run(pipe(range(3_000), pool(cpu('echo', { batchMs: 50 }), 1))))
  assert.is(result.processed, 3_000)
  const batches = threadCounters.batches - before.batches
  assert.is(threadCounters.items - before.items, 3_000)
  assert.ok(batches * 10 < 3_000, `3000 items took ${batches} messages`)
})

test('a lone item is sent at once: a trickling source sends one message per item', async () => {
  const before = threadCounters.batches
  const gate = { next: deferred() }
  let outputs = 0
  async function* trickle(): AsyncGenerator<number> {
    for (let i = 0; i < 5; i++) {
      yield i
      await gate.next.promise // the next item comes only after this one's result
    }
  }
  for await (const r of pipe(trickle(), pool(cpu('echo')))) {
    assert.ok(isRight(r))
    outputs++
    const released = gate.next
    gate.next = deferred()
    released.resolve()
  }
  assert.is(outputs, 5)
  assert.is(threadCounters.batches - before, 5, 'one message per item: nothing waits for a batch to fill')
})

test('maxBatch: 1 sends every item on its own', async () => {
  const before = threadCounters.batches
  right(await run(pipe(range(50), pool(cpu('echo', { maxBatch: 1 }), 1))))
  assert.is(threadCounters.batches - before, 50)
})

test('ordered output holds with batching across two threads and uneven work', async () => {
  const before = { ...threadCounters }
  const items = range(2_000).map((i) => (i * 7919) % 3_000)
  const out: number[] = []
  for await (const r of pipe(items, pool(cpu('echo', { batchMs: 50 }), { concurrency: 2, ordered: true }))) {
    assert.ok(isRight(r))
    if (isRight(r)) out.push((r.right as { item: number }).item)
  }
  assert.equal(out, items)
  const batches = threadCounters.batches - before.batches
  assert.ok(batches * 5 < items.length, `batched: ${batches} messages for ${items.length} items`)
})

test('backpressure: a thread stage holds at most buffer + threads × 2 × maxBatch items', async () => {
  const { source, pulled } = counting()
  const maxBatch = 4
  // A large batchMs lets batches grow to maxBatch after the first reply, however long items take on a busy machine.
  const iterator = pipe(source, pool(cpu('echo', { maxBatch, batchMs: 60_000 }), { concurrency: 2, buffer: 1 }))[Symbol.asyncIterator]()
  try {
    for (let i = 0; i < 3; i++) assert.ok(isRight((await iterator.next()).value))
    // The consumer stops reading: the stage fills up to its bound, and stops pulling there.
    const bound = 1 + 2 * 2 * maxBatch
    await spinUntil(() => pulled() >= 3 + bound, 'the stage fills up to its bound')
    await idle(50)
    assert.ok(pulled() <= 3 + bound, `pulled ${pulled()} with 3 consumed: bound ${bound}`)
  } finally {
    await iterator.return!()
  }
  await until(() => threadCounters.live === 0, 'threads end')
})

// --- transfer -------------------------------------------------------------------------------------------

test('transfer: buffers move instead of being copied, both ways', async () => {
  const input = new Float64Array([1, 2, 3, 4])
  const result = right(await collect(pipe([input], pool(cpu('sumArray', { transfer: true })))))
  assert.equal(result.values[0], { sum: 10, length: 4 })
  assert.is(input.byteLength, 0, 'the item buffer moved to the thread (detached here)')
  const back = right(await collect(pipe([5], pool(cpu('makeArray')))))
  const array = back.values[0]!
  assert.ok(array instanceof Float64Array)
  assert.equal([...array].map((v) => Math.round(v * 100)), [0, 100, 141, 173, 200])
  const copied = new Float64Array([1, 2])
  right(await collect(pipe([copied], pool(cpu('sumArray')))))
  assert.is(copied.byteLength, 16, 'without the option, items are copied')
})

// --- crashes and load failures ------------------------------------------------------------------------------

test('a thread that calls process.exit: its item is a Left naming the crash, it is replaced, later items succeed', async () => {
  const resources = await baseline()
  const spawned = threadCounters.spawned
  const items: (string | number)[] = [1, 2, 'exit', 3, 4, 5, 6]
  const result = right(await collect(pipe(items, pool(cpu('crash'), { ordered: true }))))
  assert.equal(result.values, [1, 2, 3, 4, 5, 6])
  assert.is(result.errors.length, 1)
  const error = result.errors[0]!
  assert.is(error.item, 'exit')
  const cause = error.cause as ThreadError
  assert.ok(cause instanceof ThreadError)
  assert.is(cause.reason, 'crashed')
  assert.match(cause.message, 'exited with code 3')
  assert.is(threadCounters.spawned - spawned, 2, 'the crashed thread was replaced once')
  await noThreadsLeft(resources, 'after a crash')
})

test('an uncaught error in a thread fails the item it was running with that error', async () => {
  const result = right(await collect(pipe([1, 'throw', 2, 3], pool(cpu('crash'), 2))))
  assert.equal(result.values.sort(), [1, 2, 3])
  assert.is(result.errors.length, 1)
  assert.is(result.errors[0]!.item, 'throw')
  assert.match((result.errors[0]!.cause as Error).message, 'kaboom from a timer')
})

test('a module that always crashes at load: a few tries with backoff, then every item fails and the run goes on', async () => {
  const resources = await baseline()
  for (const [file, what, concurrency] of [
    ['../../fixtures/thread-load-throws.ts', 'broken at load', 2],
    ['../../fixtures/thread-load-exit.ts', 'exited with code 7', 1],
  ] as const) {
    const spawned = threadCounters.spawned
    const started = performance.now()
    const result = right(
      await collect(pipe(range(20), pool(thread(new URL(file, import.meta.url)), { concurrency, name: 'broken' }), pool((r: unknown) => r, { name: 'after' }))),
    )
    const ms = performance.now() - started
    assert.is(result.values.length, 0)
    assert.is(result.errors.length, 20, 'every item fails')
    const cause = result.errors[0]!.cause as ThreadError
    assert.ok(cause instanceof ThreadError)
    assert.is(cause.reason, 'load')
    assert.match(cause.message, 'could not start')
    assert.match(cause.message, what)
    const tries = threadCounters.spawned - spawned
    assert.ok(tries >= MAX_LOAD_ATTEMPTS && tries <= concurrency * MAX_LOAD_ATTEMPTS, `${tries} spawns: no storm`)
    assert.ok(ms >= 100 + 200, `backoff between tries (${Math.round(ms)} ms)`)
    assert.is(result.report.stages[0]!.failed, 20)
    assert.is(result.report.stages[1]!.name, 'after', 'the run went on past the broken stage')
  }
  await noThreadsLeft(resources, 'after load failures')
})

test('a module that fails its first load: the items sent behind its init go to the next thread and all succeed', async () => {
  const resources = await baseline()
  const dir = mkdtempSync(join(tmpdir(), 'pipevine-load-once-'))
  process.env.PIPEVINE_LOAD_ONCE_MARKER = join(dir, 'failed')
  const spawned = threadCounters.spawned
  try {
    const result = right(await collect(pipe(range(12), pool(thread(new URL('../../fixtures/thread-load-once.ts', import.meta.url)), 1))))
    assert.equal(result.errors, [], 'no item is lost with the thread that failed to load')
    assert.equal(result.values.sort((a, b) => (a as number) - (b as number)), range(12).map((n) => n * 2))
    assert.is(threadCounters.spawned - spawned, 2, 'one failed load, one replacement')
  } finally {
    delete process.env.PIPEVINE_LOAD_ONCE_MARKER
    rmSync(dir, { recursive: true, force: true })
  }
  await noThreadsLeft(resources, 'after a failed first load')
})

test('a missing export fails at once, without retrying', async () => {
  const spawned = threadCounters.spawned
  const result = right(await collect(pipe(range(3), pool(thread(fixture, 'nope'), 1))))
  assert.is(result.errors.length, 3)
  assert.match((result.errors[0]!.cause as Error).message, 'has no export `nope`')
  assert.is(threadCounters.spawned - spawned, 1)
})

// --- endings ------------------------------------------------------------------------------------------------

test('per-item timeout: a stuck CPU item fails in time, its thread is replaced, queued items are not blamed', async () => {
  const resources = await baseline()
  const spawned = threadCounters.spawned
  const started = performance.now()
  const items: (string | number)[] = [1, 'hang', 2, 3, 4]
  const result = right(await collect(pipe(items, pool(cpu('hang'), { timeout: 150 })), { env: { hangMs: 30_000 } }))
  const ms = performance.now() - started
  assert.equal(result.values.sort(), [1, 2, 3, 4], 'items queued behind the stuck one still succeed')
  assert.is(result.errors.length, 1)
  assert.is(result.errors[0]!.item, 'hang')
  assert.ok(result.errors[0]!.cause instanceof TimeoutError)
  assert.ok(ms < 15_000, `did not wait for the 30 s item (${Math.round(ms)} ms)`)
  assert.is(threadCounters.spawned - spawned, 2, 'the stuck thread was replaced')
  await noThreadsLeft(resources, 'after a timeout')
})

test('per-item timeout: the signal in the thread aborts, and the thread stays', async () => {
  const flags = new Int32Array(new SharedArrayBuffer(8))
  const spawned = threadCounters.spawned
  // The thread takes the abort at once; the grace before replacing it is raised only for a busy machine.
  const grace = threadTunables.stuckGraceMs
  threadTunables.stuckGraceMs = 5_000
  let result
  try {
    result = right(await collect(pipe([0, 1, 2], pool(cpu('waitAbort'), { timeout: 100 })), { env: { flags } }))
  } finally {
    threadTunables.stuckGraceMs = grace
  }
  assert.equal(result.values.sort(), [1, 2])
  assert.ok(result.errors[0]!.cause instanceof TimeoutError)
  assert.is(Atomics.load(flags, 0), 1, "the thread's ctx.signal aborted")
  assert.is(threadCounters.spawned - spawned, 1, 'a handler that honours its signal keeps its thread')
})

test('cancel: the run resolves cancelled, the thread sees its signal abort, every thread ends', async () => {
  const resources = await baseline()
  const flags = new Int32Array(new SharedArrayBuffer(8))
  const ac = new AbortController()
  // The thread gets up to this long to take the abort before it is terminated; it takes it at once, but the machine may be busy.
  const grace = threadTunables.closeGraceMs
  threadTunables.closeGraceMs = 5_000
  try {
    const pending = run(pipe([0, 1, 2, 3], pool(cpu('waitAbort'), 2)), { signal: ac.signal, env: { flags } })
    await spinUntil(() => Atomics.load(flags, 1) === 1, 'item 0 waits on its signal in a thread')
    await spinUntil(() => threadCounters.live === 2, 'both threads run')
    ac.abort()
    const error = leftOf(await withTimeout(pending, 10_000, 'cancelled run'))
    assert.is(error.kind, 'cancelled')
  } finally {
    threadTunables.closeGraceMs = grace
  }
  assert.is(Atomics.load(flags, 0), 1, 'the waiting item saw its signal abort before its thread ended')
  await noThreadsLeft(resources, 'after cancel')
})

test('kill from a thread stops the run; every thread ends', async () => {
  const resources = await baseline()
  const error = leftOf(await run(pipe(range(40), pool(cpu('killer'), 2))))
  assert.is(error.kind, 'killed')
  assert.is(error.reason, 'poison item')
  await noThreadsLeft(resources, 'after kill')
})

test('a run timeout ends the threads even while they burn the CPU', async () => {
  const resources = await baseline()
  const started = performance.now()
  const error = leftOf(await run(pipe(['hang', 'hang', 'hang'], pool(cpu('hang'), 2)), { signal: AbortSignal.timeout(300), env: { hangMs: 30_000 } }))
  assert.is(error.kind, 'timeout')
  assert.ok(performance.now() - started < 10_000, 'promptly, not after the 30 s items')
  await noThreadsLeft(resources, 'after a run timeout')
})

test('break in for await ends every thread', async () => {
  const resources = await baseline()
  let seen = 0
  let liveAtBreak = 0
  for await (const r of pipe(range(1_000), pool(thread(fixture), 2))) {
    assert.ok(isRight(r))
    liveAtBreak = threadCounters.live
    if (++seen === 3) break
  }
  assert.ok(liveAtBreak >= 1, 'threads ran until the break')
  await noThreadsLeft(resources, 'after break')
})

test('values() downstream and mix/fork of thread handlers', async () => {
  const mixed = right(await collect(pipe(range(20), mix([cpu('echo'), thread((n: number) => ({ item: n, worker: -1 }))]), values())))
  assert.is(mixed.values.length, 20)
  const forked = right(
    await collect(
      pipe(
        [3, 4],
        fork([thread(fixture), (n: number) => n * 2], ([a, b]) => ({ a, b })),
      ),
    ),
  )
  assert.equal(
    forked.values.sort((x, y) => x.b - y.b),
    [
      { a: 2, b: 6 },
      { a: 4, b: 8 },
    ],
  )
  await until(() => threadCounters.live === 0, 'threads end')
})

test('cancel while a thread stage is still in its async init: the run resolves at once, no thread starts, and dispose runs when init finishes', async () => {
  const before = await baseline()
  const ac = new AbortController()
  const slow = slowInit()
  const spawnedBefore = threadCounters.spawned
  const t0 = performance.now()
  const pending = run(
    pipe(
      [1, 2, 3],
      pool(cpu('spin'), slow.options),
    ),
    { signal: ac.signal },
  )
  await slow.started
  ac.abort()
  assert.is(leftOf(await pending).kind, 'cancelled')
  assert.ok(performance.now() - t0 < 40, 'did not wait for init')
  await noThreadsLeft(before, 'resources opened by a late init of a thread stage')
  assert.is(slow.counts.inits, 2)
  assert.is(slow.counts.disposes, 2, 'each late init met its dispose')
  assert.is(threadCounters.spawned, spawnedBefore, 'no thread was started for a stage that had stopped')
})

test('an abandoned pipeline does not keep the process alive', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../fixtures/thread-abandon.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const code = await withTimeout(new Promise<number | null>((resolve) => child.on('close', resolve)), 30_000, 'the child process exiting').catch((error) => {
    child.kill('SIGKILL')
    throw error
  })
  assert.is(code, 0, output)
  assert.match(output, 'abandoned')
})


test.run()
