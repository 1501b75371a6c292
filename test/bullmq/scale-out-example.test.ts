// examples/scale-out: the one command starts redis-server and N workers, runs the pipeline and stops everything.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { withTimeout } from '../_helpers.js'
import { requireRedisClient, requireRedisServer } from './_redis.js'

const start = fileURLToPath(new URL('../../examples/scale-out/start.ts', import.meta.url))

test('scale-out recipe: 2 workers share 120 documents through a password-protected Redis, every one stored once, and the command exits cleanly', async () => {
  requireRedisServer()
  requireRedisClient()
  // its own process group, so that a timeout here ends its redis-server and workers too
  const child = spawn(process.execPath, ['--import', 'tsx', start, '2', '120'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  try {
    const code = await withTimeout(new Promise((resolve) => child.once('exit', resolve)), 30_000, 'the scale-out recipe')
    assert.is(code, 0, stderr)
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // the group is gone: everything exited
    }
  }
  const summary = JSON.parse(stdout.trim().split('\n').find((line) => line.startsWith('{'))!)
  assert.is(summary.stored, 120)
  assert.is(summary.failed, 0)
  assert.is(Object.keys(summary.perWorker).length, 2, JSON.stringify(summary.perWorker))
  assert.is(Object.values(summary.perWorker as Record<string, number>).reduce((a, b) => a + b, 0), 120)
  assert.is((stderr.match(/done: /g) ?? []).length, 2, 'both workers closed gracefully and reported')
})

test.run()
