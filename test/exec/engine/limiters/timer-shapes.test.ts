import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const exec = promisify(execFile)

test("a GC between rate-limited runs, with no timer alive, keeps the admission path's and Node's timer code optimised (the kept interval)", async () => {
  const fixture = fileURLToPath(new URL('../../../fixtures/rate-timer-deopt.ts', import.meta.url))
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', '--expose-gc', '--trace-deopt', fixture], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })
  assert.ok(stdout.includes('done'), 'the fixture ran to the end')
  // After the warm-up rounds: code thrown away at a GC because objects it was compiled against died.
  const afterWarmUp = stdout.slice(stdout.indexOf('@@gc 2'))
  const dropped = afterWarmUp.split('\n').filter((line) => line.includes('marking dependent code') && line.includes('weak objects') && /<SharedFunctionInfo (acquire|admit|admitted|startAttempt|run|drain|remove|peek|append|insert|listOnTimeout)>/.test(line))
  assert.is(dropped.length, 0, `thrown away by a GC ${dropped.length} times:\n${dropped.join('\n')}`)
})

test.run()
