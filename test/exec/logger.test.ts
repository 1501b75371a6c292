import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, fork, mix, pipe, pool, provide, retry, run, type Logger, type StageContext } from '../../src/index.js'
import { right } from '../_helpers.js'

type Line = { level: keyof Logger; message: string }

function recorder(): Logger & { lines: Line[] } {
  const lines: Line[] = []
  const at =
    (level: keyof Logger) =>
    (message: string): void =>
      void lines.push({ level, message })
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

test('a custom Logger gets each stage failure at warn with the stage name, attempt count and a short item', async () => {
  const log = recorder()
  const longItem = { id: 3, payload: 'x'.repeat(500) }
  const result = await collect(
    pipe(
      [{ id: 1, payload: 'ok' }, { id: 2, payload: 'ok' }, longItem],
      pool(
        (item: { id: number }) => {
          if (item.id !== 1) throw new Error(`cannot save ${item.id}`)
          return item.id
        },
        { name: 'save', retries: 2 },
      ),
    ),
    { log },
  )
  assert.is(right(result).errors.length, 2)
  const warns = log.lines.filter((l) => l.level === 'warn')
  assert.is(warns.length, 2, 'one warn per failed item')
  for (const w of warns) {
    assert.match(w.message, /save/)
    assert.match(w.message, /3 attempts/)
    assert.match(w.message, /cannot save/)
    assert.ok(w.message.length < 300, `short: ${w.message.length} chars`)
  }
  assert.ok(warns.some((w) => w.message.includes('"id":2')), 'the item is shown')
  assert.ok(warns.some((w) => w.message.includes('"id":3') && w.message.includes('…')), 'a long item is shortened')
  // The in-place retries are logged below warn.
  assert.ok(log.lines.filter((l) => l.level === 'debug').length >= 4)
})

test('ctx.log is the run logger in pool, mix, fork and a downstream retry replay; silent by default', async () => {
  const log = recorder()
  const seen: Logger[] = []
  const h = (n: number, ctx: StageContext<any>): number => {
    seen.push(ctx.log)
    if (ctx.attempt === 1 && n === 1) throw new Error('once')
    return n
  }
  const again = <T,>() => retry<T>({ retries: 1, backoff: 'none' })
  // Item 1 fails once in each stage (a fresh item starts at attempt 1): pool and mix recover through `retry`, fork's Left goes out.
  const report = right(await run(pipe([1, 2], pool(h), again(), mix([h, h]), again(), fork([h], (r) => r[0]!)), { log }))
  assert.is(seen.length, 2 + 1 + 2 + 1 + 2)
  assert.is(report.processed, 1)
  assert.is(report.failed, 1)
  // One logger for the whole run, forwarding to the one given (wrapped so that a throwing logger can't stop the run).
  for (const l of seen) assert.is(l, seen[0])
  seen[0]!.info('from a handler')
  assert.equal(log.lines.at(-1), { level: 'info', message: 'from a handler' })
  const warnsAfterRetry = log.lines.filter((l) => l.level === 'warn')
  assert.is(warnsAfterRetry.length, 3, 'the item failing once in each of pool, mix and fork is logged where it failed')

  const silent: Logger[] = []
  right(await run(pipe([1], pool((_n: number, ctx) => void silent.push(ctx.log)))))
  assert.is(silent.length, 1)
  assert.is.not(silent[0], console)
  for (const level of ['debug', 'info', 'warn', 'error'] as const) assert.type(silent[0]![level], 'function')
})

test('log: true writes to the console; ctx.log writes to the console', async () => {
  const original = console.warn
  const warned: unknown[][] = []
  console.warn = (...args: unknown[]) => void warned.push(args)
  const seen: unknown[] = []
  try {
    right(
      await run(
        pipe(
          ['a'],
          pool(
            (_s: string, ctx) => {
              seen.push(ctx.log)
              ctx.log.warn('from the handler')
              throw new Error('nope')
            },
            { name: 'shout' },
          ),
        ),
        { log: true },
      ),
    )
  } finally {
    console.warn = original
  }
  assert.is(seen.length, 1)
  assert.is(warned.length, 2)
  assert.equal(warned[0], ['from the handler'])
  assert.match(String(warned[1]![0]), /shout/)
  assert.match(String(warned[1]![0]), /"a"/)
})

test('a for await consumer has a silent logger; provide() supplies env to ctx', async () => {
  const seen: StageContext[] = []
  for await (const _ of pipe([1], pool((_n: number, ctx) => void seen.push(ctx)), provide({ db: 1 }))) {
    // drain
  }
  assert.is(seen.length, 1)
  assert.equal(seen[0]!.env, { db: 1 })
  assert.is.not(seen[0]!.log, console)
})

test.run()
