import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fork, left, mix, pipe, pool, retry, right, StageError, values, type Either, type StageContext } from '../../src/index.js'
import { activeResources, assertNoLeaks, drain, recordTimeouts, withTimeout, typeError, isL } from '../_helpers.js'

/** A handler that fails an item its first `failures(n)` attempts (alternating throw, reject, Left). */
function flaky(failures: (n: number) => number) {
  const calls = new Map<number, number>()
  const handler = (n: number): number | Promise<number> | Either<Error, number> => {
    const call = (calls.get(n) ?? 0) + 1
    calls.set(n, call)
    if (call > failures(n)) return n * 2
    const error = new Error(`item ${n} call ${call}`)
    if (call % 3 === 1) throw error
    if (call % 3 === 2) return Promise.reject(error)
    return left(error)
  }
  return { handler, calls }
}

test('retry: flaky items succeed within the allowed retries', async () => {
  const { handler, calls } = flaky((n) => n % 4) // 0..3 failures
  const out = await withTimeout(drain(pipe(Array.from({ length: 40 }, (_, i) => i), pool(handler, 4), retry({ retries: 3, backoff: 'none' }))), 5_000)
  assert.is(out.length, 40)
  assert.ok(out.every((r) => r._tag === 'Right'), 'every item recovered')
  assert.equal(
    out.map((r) => (r as { right: number }).right).sort((a, b) => a - b),
    Array.from({ length: 40 }, (_, i) => i * 2),
  )
  for (let n = 0; n < 40; n++) assert.is(calls.get(n), (n % 4) + 1, `item ${n} ran once per failure plus once`)
})

test('retry: an item still failing after its retries records every attempt, oldest first', async () => {
  const { handler } = flaky((n) => (n === 5 ? Infinity : 0))
  const out = await drain(pipe([4, 5, 6], pool(handler, { name: 'flaky' }), retry({ retries: 2, backoff: 'none' })))
  assert.is(out.length, 3)
  const failed = out.filter(isL)
  assert.is(failed.length, 1)
  const error = failed[0]!.left as StageError
  assert.ok(error instanceof StageError)
  assert.is(error.stage, 'flaky')
  assert.is(error.item, 5)
  assert.is(error.attempts, 3)
  assert.equal(
    error.errors.map((e) => (e as Error).message),
    ['item 5 call 1', 'item 5 call 2', 'item 5 call 3'],
  )
  assert.is(error.cause, error.errors[2])
  assert.match(error.message, /flaky/)
})

test('retry: ctx.attempt and the StageError keep counting across pool retries and a downstream retry', async () => {
  const attempts: number[] = []
  const handler = async (n: number, ctx: StageContext) => {
    attempts.push(ctx.attempt)
    throw new Error(`attempt ${ctx.attempt}`)
  }
  const [r] = await drain(pipe([1], pool(handler, { retries: 1 }), retry({ retries: 2, backoff: 'none' })))
  assert.equal(attempts, [1, 2, 3, 4])
  assert.ok(r && isL(r))
  assert.is(r.left.attempts, 4)
  assert.equal(
    (r.left as StageError).errors.map((e) => (e as Error).message),
    ['attempt 1', 'attempt 2', 'attempt 3', 'attempt 4'],
  )

  // and across two retry stages
  const seen: number[] = []
  const [r2] = await drain(
    pipe(
      [1],
      pool((n: number, ctx: StageContext) => {
        seen.push(ctx.attempt)
        throw new Error(String(ctx.attempt))
      }),
      retry({ retries: 1, backoff: 'none' }),
      retry({ retries: 1, backoff: 'none' }),
    ),
  )
  assert.equal(seen, [1, 2, 3])
  assert.ok(r2 && isL(r2))
  assert.is(r2.left.attempts, 3)
})

test('retry: one item waiting on a 500 ms backoff does not delay 100 items behind it', async () => {
  const started = performance.now()
  let first = true
  const handler = (n: number) => {
    if (n === 0 && first) {
      first = false
      throw new Error('transient')
    }
    return n
  }
  const arrivals: [number, number][] = []
  for await (const r of pipe(Array.from({ length: 101 }, (_, i) => i), pool(handler), retry({ retries: 1, backoff: 'linear', baseMs: 500 }))) {
    assert.ok(r._tag === 'Right')
    arrivals.push([r.right, performance.now() - started])
  }
  assert.is(arrivals.length, 101)
  const others = arrivals.filter(([n]) => n !== 0)
  const zero = arrivals.find(([n]) => n === 0)!
  assert.is(arrivals[100]![0], 0, 'the retried item comes last')
  const lastOther = Math.max(...others.map(([, t]) => t))
  assert.ok(lastOther < 400, `the other 100 items took ${lastOther.toFixed(0)} ms`)
  assert.ok(zero[1] >= 495, `the backoff was only ${zero[1].toFixed(0)} ms`)
})

test('retry: when filters which errors retry', async () => {
  class Transient extends Error {}
  const calls = new Map<string, number>()
  const handler = (kind: string) => {
    calls.set(kind, (calls.get(kind) ?? 0) + 1)
    throw kind === 'transient' ? new Transient(kind) : new Error(kind)
  }
  const whenCalls: [unknown, unknown][] = []
  const out = await drain(
    pipe(
      ['transient', 'fatal'],
      pool(handler),
      retry({
        retries: 3,
        backoff: 'none',
        when: (cause, error) => {
          whenCalls.push([cause, error])
          return cause instanceof Transient
        },
      }),
    ),
  )
  assert.is(calls.get('transient'), 4)
  assert.is(calls.get('fatal'), 1)
  const byKind = new Map(out.map((r) => [(r as { left: StageError }).left.item as string, (r as { left: StageError }).left]))
  assert.is(byKind.get('transient')!.attempts, 4)
  assert.is(byKind.get('fatal')!.attempts, 1)
  for (const [cause, error] of whenCalls) {
    assert.ok(error instanceof StageError)
    assert.is(cause, (error as StageError).cause)
  }
})

test('retry: a `when` that throws means no retry, not a crash', async () => {
  const out = await drain(
    pipe(
      [1],
      pool((): number => {
        throw new Error('x')
      }),
      retry({
        retries: 2,
        backoff: 'none',
        when: () => {
          throw new Error('bad predicate')
        },
      }),
    ),
  )
  assert.is(out.length, 1)
  assert.ok(isL(out[0]!))
  assert.is(out[0].left.attempts, 1)
})

/**
 * Runs one always-failing item under `policy`; returns the delays retry asked
 * setTimeout for (exact, so no flaky wall-clock bounds) and the measured gaps between attempts.
 */
async function backoffs(policy: Parameters<typeof retry>[0]): Promise<{ requested: number[]; gaps: number[] }> {
  const times: number[] = []
  const { requested, restore } = recordTimeouts()
  try {
    await drain(
      pipe(
        [1],
        pool(() => {
          times.push(performance.now())
          throw new Error('no')
        }),
        retry(policy),
      ),
    )
  } finally {
    restore()
  }
  return { requested, gaps: times.slice(1).map((t, i) => t - times[i]!) }
}

/** The backoff asked for exactly `expected`, and the attempts really were at least that far apart. */
async function expectBackoff(policy: Parameters<typeof retry>[0], expected: number[]): Promise<void> {
  const { requested, gaps } = await backoffs(policy)
  assert.equal(requested, expected, `requested delays for ${JSON.stringify(policy)}`)
  assert.is(gaps.length, expected.length)
  gaps.forEach((gap, i) => assert.ok(gap >= expected[i]! - 1, `gap ${i}: ${gap.toFixed(1)} ms < ${expected[i]} ms`))
}

test('retry: backoff kinds (none, linear, exponential, maxMs, function, jitter)', async () => {
  await expectBackoff({ retries: 3, backoff: 'none' }, [0, 0, 0])
  await expectBackoff({ retries: 3, backoff: 'linear', baseMs: 15 }, [15, 30, 45])
  await expectBackoff({ retries: 4, backoff: 'exponential', baseMs: 5 }, [5, 10, 20, 40])
  await expectBackoff({ retries: 4, backoff: 'exponential', baseMs: 10, maxMs: 25 }, [10, 20, 25, 25])
  const asked: number[] = []
  await expectBackoff(
    {
      retries: 3,
      backoff: (attempt) => {
        asked.push(attempt)
        return attempt * 12
      },
    },
    [12, 24, 36],
  )
  assert.equal(asked, [1, 2, 3])
  // a function's nonsense (negative, NaN) is no wait; maxMs caps it
  await expectBackoff({ retries: 3, backoff: (a) => [-5, Number.NaN, 1e6][a - 1]!, maxMs: 30 }, [0, 0, 30])
  const { requested } = await backoffs({ retries: 4, backoff: 'linear', baseMs: 20, jitter: true })
  assert.is(requested.length, 4)
  requested.forEach((ms, i) => assert.ok(ms >= ((i + 1) * 20) / 2 && ms <= (i + 1) * 20, `jittered delay ${i}: ${ms}`))
  assert.ok(new Set(requested.map((ms, i) => ms / (i + 1))).size > 1, 'jitter varies the delays')
  // the default policy is one retry after 100 ms (exponential from baseMs 100)
  await expectBackoff(undefined, [100])
})

test('retry: a backoff beyond what a timer holds waits (clamped), it does not fire after 1 ms', async () => {
  const baseline = activeResources()
  let calls = 0
  for (const policy of [{ backoff: () => 3e9, maxMs: Infinity }, { backoff: 'exponential' as const, baseMs: 2 ** 31, maxMs: 2 ** 40 }]) {
    calls = 0
    const it = pipe(
      [1],
      pool(() => {
        calls++
        throw new Error('no')
      }),
      retry({ retries: 1, ...policy }),
    )[Symbol.asyncIterator]()
    const pending = it.next()
    await new Promise((resolve) => setTimeout(resolve, 30)) // long enough for a wrongly short timer to fire
    assert.is(calls, 1, 'the retry is still waiting')
    await it.return!()
    assert.ok((await pending).done)
  }
  await assertNoLeaks(baseline)
})

test('retry: Rights and non-replayable Lefts pass straight through', async () => {
  const foreign = left(new Error('not a StageError'))
  const out = await drain(pipe([right(1), foreign, 3], retry(2)))
  assert.equal(out, [right(1), foreign, 3])
})

test('retry: re-runs mix and fork stages on the handler that failed', async () => {
  let a = 0
  let b = 0
  const mixed = await drain(
    pipe(
      [1],
      mix([
        (n: number) => {
          if (++a === 1) throw new Error('a once')
          return `a${n}`
        },
        (n: number) => {
          if (++b === 1) throw new Error('b once')
          return `b${n}`
        },
      ]),
      retry({ retries: 1, backoff: 'none' }),
    ),
  )
  assert.is(mixed.length, 1)
  assert.ok(mixed[0]!._tag === 'Right', 'recovered')

  let calls = 0
  const forked = await drain(
    pipe(
      [2],
      fork(
        [
          (n: number) => n,
          (n: number) => {
            if (++calls === 1) throw new Error('branch once')
            return n * 10
          },
        ],
        ([x, y]) => x + y,
      ),
      retry({ retries: 1, backoff: 'none' }),
      values(),
    ),
  )
  assert.equal(forked, [22])
})

test('retry: a recovered item still goes through the stages its Left passed untouched', async () => {
  const seen = new Set<number>()
  const parse = (n: number) => {
    if (n % 3 === 0 && !seen.has(n)) {
      seen.add(n)
      throw new Error(`flaky ${n}`)
    }
    return n
  }
  const label = (n: number) => `#${n}`
  const out = await drain(pipe([1, 2, 3, 4, 5, 6], pool(parse, 2), pool(label, 2), retry({ retries: 1, backoff: 'none' }), values()))
  assert.equal([...out].sort(), ['#1', '#2', '#3', '#4', '#5', '#6'])
})

test('retry: a path stage that fails the recovered item gives its own StageError, which retry retries there', async () => {
  let labelCalls = 0
  const first = new Set<number>()
  const parse = (n: number) => {
    if (!first.has(n)) {
      first.add(n)
      throw new Error('parse once')
    }
    return n
  }
  const label = (n: number) => {
    labelCalls++
    if (labelCalls === 1) throw new Error('label once')
    return `#${n}`
  }
  const out = await drain(pipe([7], pool(parse), pool(label), retry({ retries: 2, backoff: 'none' })))
  assert.equal(out, [right('#7')])
  assert.is(labelCalls, 2, 'label ran on the recovered item, failed, and was retried on its own')
})

test('retry: replays run on the failing stage\'s own workers, within its concurrency, with their state', async () => {
  let active = 0
  let peak = 0
  const workers = new Set<number>()
  const states = new Set<unknown>()
  const tried = new Set<number>()
  const flaky = async (n: number, ctx: StageContext) => {
    active++
    peak = Math.max(peak, active)
    workers.add(ctx.worker)
    states.add(ctx.state)
    await new Promise((resolve) => setImmediate(resolve))
    active--
    if (!tried.has(n)) {
      tried.add(n)
      throw new Error('first attempt fails')
    }
    return n
  }
  const out = await drain(pipe(Array.from({ length: 40 }, (_, i) => i), pool(flaky, 3), retry({ retries: 1, backoff: 'none', concurrency: 16 }), values()))
  assert.is(out.length, 40)
  assert.ok(peak <= 3, `ran ${peak} handlers at once with concurrency 3`)
  assert.equal([...workers].sort(), [0, 1, 2], 'only the stage\'s own workers ran, replays included')
  assert.is(states.size, 3, 'replays saw their worker\'s state')
})

test('retry: bad policies are TypeErrors naming retry and the argument', () => {
  typeError(() => retry(-1), 'retry', 'retries')
  typeError(() => retry(1.5), 'retry', 'retries')
  typeError(() => retry({ retries: -1 }), 'retry', 'retries')
  typeError(() => retry({ backoff: 'quadratic' as never }), 'retry', 'backoff')
  typeError(() => retry({ baseMs: -5 }), 'retry', 'baseMs')
  typeError(() => retry({ maxMs: Number.NaN }), 'retry', 'maxMs')
  typeError(() => retry({ when: true as never }), 'retry', 'when')
  typeError(() => retry({ jitter: 2 }), 'retry', 'jitter')
  typeError(() => retry({ buffer: -1 }), 'retry', 'buffer')
  typeError(() => retry({ concurrency: 0 }), 'retry', 'concurrency')
  typeError(() => retry({ ordered: 'no' as never }), 'retry', 'ordered')
  typeError(() => retry({ retry: 3 } as never), 'retry', 'retry')
  typeError(() => retry(null as never), 'retry', 'policy')
  typeError(() => retry('3' as never), 'retry', 'policy')
})

test.run()
