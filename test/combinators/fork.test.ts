import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fork, kill, left, pipe, pool, right, run, StageError, values, type Either, type StageContext, type WorkerState } from '../../src/index.js'
import { deferred, drain, sleep, withTimeout, typeError, until, isL } from '../_helpers.js'

test('fork: every item goes to every handler; merge gets the results in handler order', async () => {
  const merged: unknown[][] = []
  const out = await drain(
    pipe(
      [1, 2, 3],
      fork(
        [
          async (n: number) => {
            await sleep(6) // the slowest branch is first
            return `a${n}`
          },
          (n: number) => n * 10,
          async (n: number) => {
            await sleep(1)
            return right({ n })
          },
        ] as const,
        (results) => {
          merged.push(results)
          const [a, b, c] = results
          return `${a}|${b}|${c.n}`
        },
        { concurrency: 2, ordered: true },
      ),
      values(),
    ),
  )
  assert.equal(out, ['a1|10|1', 'a2|20|2', 'a3|30|3'])
  assert.equal(merged[0], ['a1', 10, { n: 1 }])
})

test('fork: a failing branch makes the item a Left; the other items are untouched', async () => {
  let merges = 0
  const out = await drain(
    pipe(
      [1, 2, 3],
      fork(
        [
          (n: number) => n,
          async (n: number) => {
            if (n === 2) throw new Error('branch b failed on 2')
            return n
          },
        ],
        ([a, b]) => (merges++, a + b),
        { name: 'both', ordered: true },
      ),
    ),
  )
  assert.is(out.length, 3)
  assert.equal(out[0], right(2))
  assert.equal(out[2], right(6))
  const r = out[1]!
  assert.ok(isL(r))
  assert.ok(r.left instanceof StageError)
  assert.is(r.left.stage, 'both')
  assert.is(r.left.item, 2)
  assert.is((r.left.cause as Error).message, 'branch b failed on 2')
  assert.is(merges, 2, 'merge is not called for a failed item')
})

test('fork: a branch returning a Left, or failing after its retries, fails the item', async () => {
  const calls: number[] = []
  const out = await drain(
    pipe(
      [1],
      fork(
        [
          (n: number) => n,
          (_n: number, ctx: StageContext) => {
            calls.push(ctx.attempt)
            return ctx.attempt < 3 ? left(`no ${ctx.attempt}`) : 5
          },
        ],
        ([a, b]) => a + b,
        { retries: 2 },
      ),
    ),
  )
  assert.equal(out, [right(6)], 'recovered within its retries')
  assert.equal(calls, [1, 2, 3])

  const out2 = await drain(pipe([1], fork([(n: number) => n, () => left('never')], ([a]) => a, { retries: 1 })))
  assert.ok(isL(out2[0]!))
  assert.is(out2[0].left.attempts, 2)
  assert.equal(out2[0].left.errors, ['never', 'never'])
})

test('fork: merge throwing (or rejecting) makes the item a Left', async () => {
  const boom = new Error('merge broke')
  const out = await drain(
    pipe(
      [1, 2],
      fork([(n: number) => n, (n: number) => -n], ([a]) => {
        if (a === 1) throw boom
        return a
      }, { ordered: true }),
    ),
  )
  assert.ok(isL(out[0]!))
  assert.is(out[0].left.cause, boom)
  assert.equal(out[1], right(2))

  const out2 = await drain(pipe([1], fork([(n: number) => n], async () => Promise.reject(boom))))
  assert.ok(isL(out2[0]!))
  assert.is(out2[0].left.cause, boom)
})

test('fork: Left inputs pass through and reach no branch', async () => {
  const bad = left(new StageError('x', 0, [new Error('x')]))
  let calls = 0
  const out = await drain(pipe([bad, 1], fork([(n: number) => (calls++, n)], ([n]) => n, { ordered: true })))
  assert.is(out[0], bad)
  assert.equal(out[1], right(1))
  assert.is(calls, 1)
})

test('pool(h, { concurrency: n, fork: merge }) runs every item on all n workers and merges', async () => {
  const workers: number[][] = []
  const states = new Set<WorkerState>()
  const out = await drain(
    pipe(
      [1, 2],
      pool(
        async (n: number, ctx: StageContext) => {
          states.add(ctx.state)
          await sleep(3 - ctx.worker)
          return { n, worker: ctx.worker }
        },
        {
          concurrency: 3,
          ordered: true,
          fork: (results) => {
            workers.push(results.map((r) => r.worker))
            return results.map((r) => r.n).reduce((a, b) => a + b, 0)
          },
        },
      ),
      values(),
    ),
  )
  assert.equal(out, [3, 6])
  assert.equal(workers, [
    [0, 1, 2],
    [0, 1, 2],
  ])
  assert.is(states.size, 3, 'each of the n workers has its own state')
})

test('pool fork: a worker that fails makes the item a Left', async () => {
  const out = await drain(
    pipe(
      [1],
      pool(
        (n: number, ctx: StageContext) => {
          if (ctx.worker === 1) throw new Error('worker 1 failed')
          return n
        },
        { concurrency: 2, fork: (rs) => rs.length },
      ),
    ),
  )
  assert.ok(isL(out[0]!))
  assert.is((out[0].left.cause as Error).message, 'worker 1 failed')
})

test('fork: init and dispose run once per branch worker; break aborts in-flight branches', async () => {
  let inits = 0
  let disposes = 0
  let aborted = 0
  const started = deferred()
  const it = pipe(
    (function* () {
      for (let i = 0; ; i++) yield i
    })(),
    fork(
      [
        (n: number) => n,
        async (n: number, ctx: StageContext) => {
          if (n < 2) return n
          started.resolve()
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => (aborted++, resolve()), { once: true }))
          return n
        },
      ],
      ([a]) => a,
      { init: () => void inits++, dispose: () => void disposes++, ordered: true },
    ),
  )[Symbol.asyncIterator]()
  assert.equal((await it.next()).value, right(0))
  assert.equal((await it.next()).value, right(1))
  await withTimeout(started.promise, 2_000)
  await it.return!()
  await until(() => aborted === 1, 'in-flight branch aborted')
  assert.is(inits, 2)
  assert.is(disposes, 2)
})

test('fork: bad arguments are TypeErrors naming fork and the argument', () => {
  const h = (n: number) => n
  typeError(() => (fork as any)([h, h]), 'fork', 'merge')
  typeError(() => fork([h, h], 'merge' as never), 'fork', 'merge')
  typeError(() => fork([], (r) => r), 'fork', 'handlers')
  typeError(() => fork('h' as never, (r) => r), 'fork', 'handlers')
  typeError(() => fork([h, 3 as never], (r) => r), 'fork', 'handlers[1]')
  typeError(() => fork([h], (r) => r, { concurrency: 0 }), 'fork', 'concurrency')
  typeError(() => fork([h], (r) => r, { concurrency: 2.5 }), 'fork', 'concurrency')
  typeError(() => fork([h], (r) => r, { buffer: -1 }), 'fork', 'buffer')
  typeError(() => fork([h], (r) => r, { merge: 1 } as never), 'fork', 'merge')
})


test('fork without init, timeout or retries calls its branches directly and still settles every way', async () => {
  const failing = new StageError('earlier', 0, [new Error('from a Left')])
  const out = await drain(
    pipe(
      [1, 2, 3, 4],
      fork(
        [
          (n: number) => {
            if (n === 2) throw new Error('sync throw on 2')
            return n
          },
          async (n: number) => (n === 3 ? left(failing) : right(n * 10)),
          (n: number) => Promise.resolve(n * 100),
        ],
        ([a, b, c]) => a + b + c,
        { name: 'direct', ordered: true },
      ),
    ),
  )
  assert.equal(out[0], right(111))
  assert.equal(out[3], right(444))
  const two = out[1]!
  const three = out[2]!
  assert.ok(isL(two) && isL(three))
  assert.is((two.left.cause as Error).message, 'sync throw on 2')
  assert.is(two.left.stage, 'direct')
  assert.is(three.left.cause, failing, "a branch's Left is the item's cause")
})

test('fork: a branch returning kill() stops the run, whether called directly or through its worker', async () => {
  for (const options of [{}, { retries: 1 }]) {
    const started: number[] = []
    const result = await run(
      pipe(
        [1, 2, 3, 4, 5, 6],
        fork(
          [(n: number) => (started.push(n), n === 2 ? kill(`poison ${n}`) : n), async (n: number) => n],
          ([a, b]) => a + b,
          options,
        ),
      ),
    )
    assert.is(result._tag, 'Left')
    if (result._tag === 'Left') assert.is(result.left.kind, 'killed')
    assert.ok(!started.includes(3), `no item after the kill starts (${JSON.stringify(options)})`)
  }
})

test.run()
