// Loggers that fail (issue 11 point 2): a level that throws, rejects or is missing never stops or hangs
// a run. The first failure of a run's logger goes to console.error, once; a level left out is ignored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, pipe, pool, retry, run, type Logger, type StageContext } from '../../src/index.js'
import { withTimeout, range, right } from '../_helpers.js'

const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => void unhandled.push(reason))

async function assertNoUnhandled(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(unhandled.length, 0, `unhandled rejections: ${unhandled.length}`)
}

/** Runs `body` with console.error captured. */
async function capturingConsoleError<T>(body: () => Promise<T>): Promise<{ result: T; reported: unknown[][] }> {
  const original = console.error
  const reported: unknown[][] = []
  console.error = (...args: unknown[]) => void reported.push(args)
  try {
    return { result: await body(), reported }
  } finally {
    console.error = original
  }
}

const boom = (): never => {
  throw new Error('logger broke')
}

/** Half the items fail once (retried in place: debug), half of those for good (warn); worker 0's init fails (error). */
function flakyFlow(async: boolean, ctxLevel?: keyof Logger): AsyncIterable<unknown> {
  const handler = (n: number, ctx: StageContext): number => {
    if (ctxLevel !== undefined) ctx.log[ctxLevel](`handler ${n}`)
    if (n % 2 === 1 && (ctx.attempt === 1 || n % 4 === 1)) throw new Error(`item ${n}`)
    return n
  }
  const init = (ctx: StageContext): void => {
    if (ctx.worker === 0) throw new Error('no connection')
  }
  return pipe(
    range(20),
    pool(async ? async (n: number, ctx: StageContext) => handler(n, ctx) : (handler as (n: number, ctx: StageContext) => number | Promise<number>), { concurrency: 2, retries: 1 }),
    retry({ retries: 1, backoff: 'none' }),
    pool((n: number) => n, { name: 'after', init, concurrency: 2 }),
  )
}

/** What flakyFlow ends with: every item accounted for. */
function assertAccounted(report: { processed: number; failed: number }): void {
  assert.is(report.processed + report.failed, 20)
}

test('a logger whose levels throw never stops or hangs a run, and is reported once on console.error', async () => {
  for (const async of [false, true]) {
    const log: Logger = { debug: boom, info: boom, warn: boom, error: boom }
    const { result, reported } = await capturingConsoleError(() => withTimeout(run(flakyFlow(async, 'info'), { log }), 3000, 'the run'))
    assertAccounted(right(result))
    assert.is(reported.length, 1, 'reported once')
    assert.match(String(reported[0]![0]), /logger/)
    assert.match(String(reported[0]![0]), /logger broke/)
  }
  await assertNoUnhandled()
})

test('a logger whose levels return rejected promises, or whose level getters throw, never stops a run', async () => {
  const rejecting: Logger = { debug: async () => boom(), info: async () => boom(), warn: async () => boom(), error: async () => boom() }
  // Getters that work when run() checks the logger, and throw from then on.
  let reads = 0
  const getters = {
    get debug(): () => void {
      return ++reads <= 2 ? () => {} : boom()
    },
    warn: () => {},
    get error(): () => void {
      return ++reads <= 2 ? () => {} : boom()
    },
  }
  for (const log of [rejecting, getters]) {
    const { result, reported } = await capturingConsoleError(() => withTimeout(run(flakyFlow(true, 'warn'), { log }), 3000, 'the run'))
    assertAccounted(right(result))
    assert.is(reported.length, 1, 'reported once')
  }
  await assertNoUnhandled()
})

test('a partial logger writes the levels it has and ignores the others, in pipevine and in ctx.log', async () => {
  const lines: string[] = []
  // A method that uses `this`, as class-based loggers do.
  const log = {
    prefix: 'w:',
    warn(message: string) {
      lines.push(this.prefix + message)
    },
  }
  const { result, reported } = await capturingConsoleError(() => withTimeout(run(flakyFlow(false, 'debug'), { log }), 3000, 'the run'))
  assertAccounted(right(result))
  assert.is(reported.length, 0, 'a missing level is not a failure')
  assert.ok(lines.length > 0)
  for (const line of lines) assert.match(line, /^w:\[/)

  const warnsOnly: string[] = []
  right(await withTimeout(run(flakyFlow(true, 'warn'), { log: { warn: (m: string) => void warnsOnly.push(m) } }), 3000, 'the run'))
  assert.ok(warnsOnly.some((m) => m === 'handler 0'), 'ctx.log.warn reaches it')
  await assertNoUnhandled()
})

test('ctx.log is the run\'s safe logger: a handler calling a level that throws or is missing is not affected', async () => {
  const log = { warn: boom }
  const got = await capturingConsoleError(() =>
    withTimeout(
      collect(
        pipe(
          range(5),
          pool((n: number, ctx) => {
            ctx.log.warn('from the handler')
            ctx.log.debug('a level the logger does not have')
            const { error } = ctx.log // detached, as `.catch(ctx.log.error)` would use it
            error('detached')
            return n
          }),
        ),
        { log },
      ),
      3000,
      'the run',
    ),
  )
  assert.equal(right(got.result).values, [0, 1, 2, 3, 4])
  assert.is(got.reported.length, 1)
  await assertNoUnhandled()
})

test('run and collect reject a log option with no level, or with a level that is not a function, naming it', async () => {
  const flow = pipe([1], pool((n: number) => n))
  for (const [log, pattern] of [
    [{}, /`log` must be a boolean or a Logger/],
    [{ warn: 'loud' }, /`log` must be a boolean or a Logger/],
    [{ warn() {}, debug: 1 }, /`log` must be a Logger whose debug is a function/],
    [{ error() {}, info: null, warn: 'x' }, /`log` must be a Logger whose info, warn are functions/],
    [5, /`log` must be a boolean or a Logger/],
  ] as const) {
    for (const drain of [run, collect]) {
      assert.throws(
        () => drain(flow, { log: log as never }),
        (e: unknown) => e instanceof TypeError && pattern.test(e.message),
        `${JSON.stringify(log)} is rejected`,
      )
    }
  }
  // Any one level is enough.
  for (const level of ['debug', 'info', 'warn', 'error'] as const) right(await run(flow, { log: { [level]: () => {} } }))
})

test.run()
