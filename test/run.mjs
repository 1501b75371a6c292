// Runs every test file under test/ in its own Node process (tsx loads the
// TypeScript), two at a time for a 2-core machine, and ends with one line:
// "N passed, N failed", from uvu's own counts.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const FILE_TIMEOUT_MS = 150_000
const PARALLEL = Number(process.env.TEST_PARALLEL ?? 2)
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null

function findTests(dir) {
  const found = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...findTests(path))
    else if (name.endsWith('.test.ts')) found.push(path)
  }
  return found
}

const files = findTests('test').filter((file) => !filter || filter.test(file))
const strip = (text) => text.replace(/\x1b\[[0-9;]*m/g, '')

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', file], {
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => {
      output += `\n[test/run] ${file} timed out after ${FILE_TIMEOUT_MS} ms and was killed\n`
      child.kill('SIGKILL')
    }, FILE_TIMEOUT_MS)
    child.on('close', (code) => {
      clearTimeout(timer)
      const text = strip(output)
      const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? 0)
      const passed = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? 0)
      const skipped = Number(/Skipped:\s+(\d+)/.exec(text)?.[1] ?? 0)
      let failed = total - passed - skipped
      if (code !== 0 && failed === 0) failed = 1
      resolve({ file, text, passed, failed, skipped, code, ms: Date.now() - started })
    })
  })
}

const results = []
let next = 0
async function lane() {
  while (next < files.length) {
    const result = await runFile(files[next++])
    results.push(result)
    const mark = result.failed ? 'FAIL' : 'ok  '
    console.log(`${mark} ${relative('.', result.file)}  ${result.passed} passed, ${result.failed} failed  (${result.ms} ms)`)
    if (result.failed) console.log(result.text.replace(/^/gm, '    '))
  }
}
await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, lane))

const passed = results.reduce((n, r) => n + r.passed, 0)
const failed = results.reduce((n, r) => n + r.failed, 0)
const skipped = results.reduce((n, r) => n + r.skipped, 0)
if (files.length === 0) console.log('no test files found')
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exitCode = failed > 0 || files.length === 0 || passed === 0 ? 1 : 0
