import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const exec = promisify(execFile)

test("a GC between runs does not deoptimise the user's function that composes and reads a pipeline (the anchor keeps a flow's class)", async () => {
  const fixture = fileURLToPath(new URL('../fixtures/consumer-deopt.ts', import.meta.url))
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', '--expose-gc', '--trace-opt', '--trace-deopt', fixture], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 })
  assert.ok(stdout.includes('done'), 'the fixture ran to the end')
  const lines = stdout.split('\n').filter((line) => line.includes('consumeInline'))
  // Only meaningful once V8 has optimised the function: otherwise there is nothing to lose.
  assert.ok(lines.some((line) => line.includes('completed optimizing')), 'the reading function was optimised')
  const dropped = lines.filter((line) => line.includes('marking dependent code') && line.includes('weak objects'))
  assert.is(dropped.length, 0, `deoptimised by a GC ${dropped.length} times:\n${dropped.join('\n')}`)
})

test.run()
