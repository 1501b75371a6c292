// threadPool's Worker options (issue 13 point 1): resourceLimits and execArgv.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { collect, pipe, pool, threadPool, ThreadError } from '../../../src/index.js'
import { right, withTimeout } from '../../_helpers.js'
import type * as Fixture from '../../fixtures/thread-pool.js'

const fixture = new URL('../../fixtures/thread-pool.ts', import.meta.url)

test('resourceLimits: a thread that exceeds them fails its item as crashed, naming the limit, and the pool goes on', async () => {
  const hog = threadPool<typeof Fixture.hog>(fixture, 'hog', { threads: 1, maxBatch: 1, resourceLimits: { maxOldGenerationSizeMb: 24 } })
  const { values, errors } = right(await withTimeout(collect(pipe([1, 400, 1], pool(hog, { concurrency: 1, ordered: true }))), 30_000, 'the run'))
  assert.is(errors.length, 1, 'only the item that went past the limit failed')
  assert.is(errors[0]!.item, 400)
  const cause = errors[0]!.errors[0]
  assert.ok(cause instanceof ThreadError && cause.reason === 'crashed', `crashed: ${String(cause)}`)
  assert.match((cause as Error).message, /maxOldGenerationSizeMb: 24/)
  assert.equal(values, [1, 1], 'the items before and after ran (the second on a new thread)')
  await hog.close()
})

test('execArgv: the threads run with the Node options given', async () => {
  const argv = threadPool<typeof Fixture.execArgv>(fixture, 'execArgv', { threads: 1, execArgv: ['--no-warnings', '--enable-source-maps'] })
  const { values } = right(await collect(pipe([0], pool(argv, 1))))
  assert.equal(values[0], ['--no-warnings', '--enable-source-maps'], "the thread's execArgv")
  await argv.close()
})

test('execArgv that threads refuse: every item fails at once with a load ThreadError naming the flag, and ready() rejects with it', async () => {
  const argv = threadPool(fixture, { threads: 2, execArgv: ['--expose-gc'] })
  let rejected: unknown
  await withTimeout(argv.ready(), 2_000, 'ready()').catch((error: unknown) => (rejected = error))
  assert.ok(rejected instanceof ThreadError && rejected.reason === 'load', `ready() rejects: ${String(rejected)}`)
  const { errors } = right(await withTimeout(collect(pipe([1, 2, 3], pool(argv, 2))), 2_000, 'the run'))
  assert.is(errors.length, 3)
  assert.match(String((errors[0]!.errors[0] as Error).message), /--expose-gc/)
  await argv.close()
})

test.run()
