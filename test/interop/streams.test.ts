// Node Readable / web ReadableStream in (from) and out (toReadable, toReadableStream).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ReadableStream } from 'node:stream/web'
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { left, right } from 'fp-ts/lib/Either.js'
import { PipelineError, StageError, from, isRight, pipe, pool, provide, run, toReadable, toReadableStream, values, type StageContext } from '../../src/index.js'
import { counting, deferred, drain, withTimeout } from '../_helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'pipevine-interop-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

/** An object-mode Readable that makes items only when asked (`_read`), counting them. */
function countingReadable(limit: number, highWaterMark = 2): { stream: Readable; made: () => number } {
  let made = 0
  const stream = new Readable({
    objectMode: true,
    highWaterMark,
    read() {
      if (made >= limit) this.push(null)
      else this.push(made++)
    },
  })
  return { stream, made: () => made }
}

/** A pull-based web stream (queue of 1) that counts pulls and records cancellation. */
function countingWebStream(limit: number): { stream: ReadableStream<number>; pulled: () => number; cancelled: Promise<unknown> } {
  let pulled = 0
  const cancelled = deferred<unknown>()
  const stream = new ReadableStream<number>(
    {
      pull(controller) {
        if (pulled >= limit) controller.close()
        else controller.enqueue(pulled++)
      },
      cancel(reason) {
        cancelled.resolve(reason)
      },
    },
    { highWaterMark: 1 },
  )
  return { stream, pulled: () => pulled, cancelled: cancelled.promise }
}

// ---- from(Node Readable) ------------------------------------------------------------

test('from(Readable): object-mode items flow through stages in order', async () => {
  const { stream } = countingReadable(50)
  const out = await drain(pipe(from(stream), pool((n: number) => n * 2, { concurrency: 3, ordered: true }), values()))
  assert.equal(out, Array.from({ length: 50 }, (_, i) => i * 2))
})

test('from(Readable): a slow stage holds the stream back, and break destroys it', async () => {
  const { stream, made } = countingReadable(10_000)
  const flow = pipe(
    from(stream),
    pool(async (n: number) => n, { concurrency: 2 }),
    values(),
  )
  let seen = 0
  for await (const _ of flow) {
    if (++seen === 20) break
  }
  // 20 consumed + the stage's holding (buffer 1 + 2 workers) + the stream's own buffer (2) + its async iterator's read-ahead.
  assert.ok(made() < 40, `the Readable made ${made()} items for 20 consumed`)
  await withTimeout(new Promise((resolve) => (stream.destroyed ? resolve(null) : stream.once('close', resolve))), 2_000, 'the Readable closing')
  assert.ok(stream.destroyed, 'break destroys the Readable')
})

test('from(fs.createReadStream): Buffer chunks of a byte stream', async () => {
  const file = join(dir, 'bytes.bin')
  const bytes = Buffer.alloc(200_000, 7)
  writeFileSync(file, bytes)
  const sizes = await drain(pipe(from(createReadStream(file, { highWaterMark: 16_384 })), pool((chunk: Buffer) => chunk.length), values()))
  assert.ok(sizes.length >= 200_000 / 16_384, `chunks: ${sizes.length}`)
  assert.is(sizes.reduce((a, b) => a + b, 0), 200_000)
})

test('from(Readable): a stream error ends the run as a source failure', async () => {
  const stream = new Readable({
    objectMode: true,
    read() {
      this.destroy(new Error('disk on fire'))
    },
  })
  const result = await run(pipe(from(stream), pool((n: number) => n)))
  assert.ok(result._tag === 'Left')
  assert.is(result.left.kind, 'source')
  assert.match(result.left.message, /disk on fire/)
})

// ---- from(web ReadableStream) ---------------------------------------------------------

test('from(ReadableStream): items flow, and the stream is pulled lazily', async () => {
  const { stream, pulled } = countingWebStream(30)
  const out = await drain(pipe(from(stream), pool((n: number) => n + 1, { ordered: true }), values()))
  assert.equal(out, Array.from({ length: 30 }, (_, i) => i + 1))
  assert.is(pulled(), 30)
})

test('from(ReadableStream): break cancels the web stream and it stops being pulled', async () => {
  const { stream, pulled, cancelled } = countingWebStream(1_000_000)
  let seen = 0
  for await (const _ of pipe(from(stream), pool(async (n: number) => n, 2))) {
    if (++seen === 10) break
  }
  await withTimeout(cancelled, 2_000, 'the web stream being cancelled')
  assert.ok(pulled() < 25, `pulled ${pulled()} for 10 consumed`)
})

// ---- toReadable ------------------------------------------------------------------------

test('toReadable: works in stream.pipeline with backpressure from a slow Writable', async () => {
  const src = counting(200)
  let written = 0
  let maxAhead = 0
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(_chunk, _enc, callback) {
      written++
      maxAhead = Math.max(maxAhead, src.pulled() - written)
      setImmediate(callback)
    },
  })
  await withTimeout(pipeline(toReadable(pipe(src.source, pool((n: number) => n * 10, 2)), { highWaterMark: 2 }), sink), 5_000, 'pipeline')
  assert.is(written, 200)
  // The Readable's buffer (2) + the stage's holding (1 + 2) + the Writable's (1) + one read in flight each.
  assert.ok(maxAhead <= 10, `the source ran ${maxAhead} items ahead of the Writable`)
  await withTimeout(src.closed, 1_000, 'source closed')
})

test('toReadable: Rights are unwrapped and plain values pass; the stream ends', async () => {
  const values_ = await drain(toReadable(pipe([1, 2, 3], pool((n: number) => n * 2, { ordered: true }))))
  assert.equal(values_, [2, 4, 6])
  const plain = await drain(toReadable(['a', 'b']))
  assert.equal(plain, ['a', 'b'])
})

test('toReadable: a Left destroys the stream with its StageError and stops the pipeline', async () => {
  const src = counting(1_000)
  const flow = pipe(
    src.source,
    pool((n: number) => (n === 3 ? left(new Error('bad three')) : n), { ordered: true }),
  )
  const written: number[] = []
  const sink = new Writable({
    objectMode: true,
    write(chunk, _enc, callback) {
      written.push(chunk)
      callback()
    },
  })
  let caught: unknown
  try {
    await withTimeout(pipeline(toReadable(flow), sink), 5_000, 'pipeline')
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof StageError, `expected a StageError, got ${String(caught)}`)
  assert.is((caught as StageError).item, 3)
  assert.equal(written, [0, 1, 2])
  await withTimeout(src.closed, 1_000, 'source closed')
  assert.ok(src.pulled() < 20, `pulled ${src.pulled()}`)
})

test('toReadable: a failing Writable stops every stage, aborting in-flight handlers', async () => {
  const src = counting(1_000_000)
  const aborted = deferred()
  const flow = pipe(
    src.source,
    pool(async (n: number, { signal }: StageContext) => {
      if (n < 5) return n
      // Handlers past the failure wait on their signal: the stop must reach them.
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      aborted.resolve()
      return n
    }, 2),
  )
  const sink = new Writable({
    objectMode: true,
    write(chunk, _enc, callback) {
      callback(chunk === 2 ? new Error('sink broke') : null)
    },
  })
  let caught: unknown
  try {
    await withTimeout(pipeline(toReadable(flow), sink), 5_000, 'pipeline')
  } catch (error) {
    caught = error
  }
  assert.match(String((caught as Error)?.message), /sink broke/)
  await withTimeout(src.closed, 2_000, 'source closed')
  await withTimeout(aborted.promise, 2_000, 'in-flight handler aborted')
})

test('toReadable: env reaches the stages; an aborted signal errors the stream with a PipelineError', async () => {
  const out = await drain(toReadable(pipe([1, 2], pool((n: number, ctx: StageContext<{ k: number }>) => n * ctx.env.k, { ordered: true })), { env: { k: 7 } }))
  assert.equal(out, [7, 14])

  const controller = new AbortController()
  const src = counting(1_000_000)
  const stream = toReadable(pipe(src.source, pool(async (n: number) => n, 2)), { signal: controller.signal })
  const got: number[] = []
  let caught: unknown
  try {
    for await (const n of stream) {
      got.push(n)
      if (got.length === 5) controller.abort()
    }
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof PipelineError, `expected a PipelineError, got ${String(caught)}`)
  assert.is((caught as PipelineError).kind, 'cancelled')
  await withTimeout(src.closed, 2_000, 'source closed')
})

test('toReadable: objectMode false writes strings as bytes to a file', async () => {
  const file = join(dir, 'out.txt')
  const lines = pipe([1, 2, 3], pool((n: number) => `line ${n}\n`, { ordered: true }))
  await pipeline(toReadable(lines, { objectMode: false }), createWriteStream(file))
  assert.is(readFileSync(file, 'utf8'), 'line 1\nline 2\nline 3\n')
})

test('toReadable: a null item errors the stream instead of ending it early', async () => {
  let caught: unknown
  try {
    await drain(toReadable(pipe([1, null, 3], pool((x: number | null) => x, { ordered: true }))))
  } catch (error) {
    caught = error
  }
  assert.instance(caught, TypeError)
  assert.match(String(caught), /null/)
})

test('toReadable / toReadableStream: bad arguments throw a TypeError naming the function', () => {
  assert.throws(() => toReadable(42 as never), (e: unknown) => e instanceof TypeError && /toReadable/.test(String(e)))
  assert.throws(() => toReadable([1], { highWaterMark: -1 }), (e: unknown) => e instanceof TypeError && /highWaterMark/.test(String(e)))
  assert.throws(() => toReadable([1], { nope: 1 } as never), (e: unknown) => e instanceof TypeError && /nope/.test(String(e)))
  assert.throws(() => toReadableStream(null as never), (e: unknown) => e instanceof TypeError && /toReadableStream/.test(String(e)))
})

// ---- toReadableStream ------------------------------------------------------------------

test('toReadableStream: reads a pipeline, unwrapping Rights, and pulls lazily', async () => {
  const src = counting(1_000)
  const stream = toReadableStream(pipe(src.source, pool((n: number) => n * 3, { ordered: true })))
  const reader = stream.getReader()
  const got: number[] = []
  for (let i = 0; i < 5; i++) {
    const { value, done } = await reader.read()
    assert.not.ok(done)
    got.push(value as number)
  }
  assert.equal(got, [0, 3, 6, 9, 12])
  assert.ok(src.pulled() <= 10, `pulled ${src.pulled()} for 5 read`)
  await reader.cancel()
  await withTimeout(src.closed, 1_000, 'cancel closes the source')
})

test('toReadableStream: for await to the end; pipeThrough works', async () => {
  const stream = toReadableStream(pipe(['a', 'b', 'c'], pool((s: string) => s.toUpperCase(), { ordered: true })))
  const text = await drain(stream.pipeThrough(new TextEncoderStream()).pipeThrough(new TextDecoderStream()))
  assert.is(text.join(''), 'ABC')
})

test('toReadableStream: a Left errors the stream with its StageError', async () => {
  const src = counting(100)
  const stream = toReadableStream(pipe(src.source, pool((n: number) => (n === 2 ? right(n) && left('nope') : n), { ordered: true })))
  const got: unknown[] = []
  let caught: unknown
  try {
    for await (const v of stream) got.push(v)
  } catch (error) {
    caught = error
  }
  assert.equal(got, [0, 1])
  assert.ok(caught instanceof StageError)
  await withTimeout(src.closed, 1_000, 'source closed')
})

test('toReadableStream: env and signal', async () => {
  const out = await drain(toReadableStream(pipe([1, 2], pool((n: number, ctx: StageContext<string>) => ctx.env + n, { ordered: true })), { env: 'x' }))
  assert.equal(out, ['x1', 'x2'])
  const src = counting(1_000_000)
  const controller = new AbortController()
  let caught: unknown
  try {
    let n = 0
    for await (const _ of toReadableStream(pipe(src.source, pool(async (x: number) => x)), { signal: controller.signal })) {
      if (++n === 3) controller.abort()
    }
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof PipelineError && caught.kind === 'cancelled', `got ${String(caught)}`)
  await withTimeout(src.closed, 1_000, 'source closed')
})

test('round trip: toReadable → from → run', async () => {
  const result = await run(pipe(from(toReadable(pipe([1, 2, 3, 4], pool((n: number) => n)))), pool((n: number) => n * n), provide(null)))
  assert.ok(isRight(result))
  if (isRight(result)) assert.is(result.right.processed, 4)
})

test.run()
