// TypeScript thread modules (issue 13 point 4): a program run under tsx (ESM or CommonJS, `tsx app.ts` or
// `node --import tsx app.ts`) points thread()/threadPool() at a .ts module; a module that can't load fails at
// once with an error that says what to do. Runs against the built dist/ (npm test builds first).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { collect, pipe, pool, thread, threadPool, ThreadError } from '../../../src/index.js'
import { threadCounters } from '../../../src/exec/thread/thread-host.js'
import { right, withTimeout } from '../../_helpers.js'

const exec = promisify(execFile)
const root = resolve(import.meta.dirname, '../../..')
const tsxCli = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')

/** A temporary project with pipevine installed (the built files copied) and tsx linked. */
function tempProject(type: 'module' | 'commonjs'): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipevine-ts-'))
  const target = join(dir, 'node_modules', 'pipevine')
  mkdirSync(target, { recursive: true })
  for (const entry of ['package.json', 'dist']) cpSync(join(root, entry), join(target, entry), { recursive: true })
  for (const dep of ['ix', 'fp-ts', 'comlink', 'tslib', 'tsx']) symlinkSync(join(root, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type }))
  return dir
}

const hashSource = 'export default function hash(n: number): number {\n  let x: number = 0\n  for (let i = 0; i < n; i++) x += Math.sqrt(i)\n  return Math.round(x)\n}\n'

// The README's example, as a user writes it: the per-run form, the pooled form, and a wrong extension.
const esmApp = `import { collect, pipe, pool, thread, threadPool } from 'pipevine'

const hashUrl = new URL('./hash.ts', import.meta.url)
const perRun = await collect(pipe([10, 20, 30], pool(thread(hashUrl), { concurrency: 2, ordered: true })))
await using hasher = threadPool(hashUrl, { threads: 2 })
const pooled = await collect(pipe([10, 20, 30], pool(hasher, { concurrency: 2, ordered: true })))

const started = performance.now()
const wrong = await collect(pipe([10], pool(thread(new URL('./hash.js', import.meta.url)))))
const ms: number = performance.now() - started
if (perRun._tag === 'Left' || pooled._tag === 'Left' || wrong._tag === 'Left') throw new Error('run failed')
console.log(JSON.stringify({ perRun: perRun.right.values, pooled: pooled.right.values, wrong: wrong.right.errors[0]?.errors[0]?.message, fast: ms < 1_000 }))
`

const cjsApp = `const { collect, pipe, pool, thread, threadPool } = require('pipevine')
const { join } = require('node:path')
const { pathToFileURL } = require('node:url')

async function main(): Promise<void> {
  const hashUrl = pathToFileURL(join(__dirname, 'hash.cts'))
  const perRun = await collect(pipe([10, 20, 30], pool(thread(hashUrl), { concurrency: 2, ordered: true })))
  const hasher = threadPool(hashUrl, { threads: 2 })
  const pooled = await collect(pipe([10, 20, 30], pool(hasher, { concurrency: 2, ordered: true })))
  await hasher.close()
  if (perRun._tag === 'Left' || pooled._tag === 'Left') throw new Error('run failed')
  console.log(JSON.stringify({ perRun: perRun.right.values, pooled: pooled.right.values, errors: [...perRun.right.errors, ...pooled.right.errors].map((e) => e.message) }))
}
main()
`
const cjsHash = 'function hash(n: number): number {\n  let x: number = 0\n  for (let i = 0; i < n; i++) x += Math.sqrt(i)\n  return Math.round(x)\n}\nmodule.exports = hash\n'

const ways = [
  ['node --import tsx', (file: string) => ['--import', 'tsx', file]],
  ['tsx', (file: string) => [tsxCli, file]],
] as const

for (const [how, args] of ways) {
  test(`ESM under \`${how} app.ts\`: thread() and threadPool() load hash.ts; './hash.js' fails at once, pointing at hash.ts`, async () => {
    const dir = tempProject('module')
    try {
      writeFileSync(join(dir, 'hash.ts'), hashSource)
      writeFileSync(join(dir, 'app.ts'), esmApp)
      const { stdout } = await exec(process.execPath, args('app.ts'), { cwd: dir, timeout: 30_000 })
      const out = JSON.parse(stdout.trim().split('\n').pop()!)
      assert.equal(out.perRun, [19, 57, 107])
      assert.equal(out.pooled, [19, 57, 107])
      assert.match(out.wrong, /hash\.ts next to it/)
      assert.ok(out.fast, 'the wrong extension failed at once')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test(`CommonJS under \`${how} app.cts\`: thread() and threadPool() load hash.cts`, async () => {
    const dir = tempProject('commonjs')
    try {
      writeFileSync(join(dir, 'hash.cts'), cjsHash)
      writeFileSync(join(dir, 'app.cts'), cjsApp)
      const { stdout } = await exec(process.execPath, args('app.cts'), { cwd: dir, timeout: 30_000 })
      const out = JSON.parse(stdout.trim().split('\n').pop()!)
      assert.equal(out.errors, [])
      assert.equal(out.perRun, [19, 57, 107])
      assert.equal(out.pooled, [19, 57, 107])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

test('without tsx, a .ts module fails at once, saying to run under tsx; no thread starts', async () => {
  const dir = tempProject('module')
  try {
    writeFileSync(join(dir, 'hash.ts'), hashSource)
    writeFileSync(
      join(dir, 'app.mjs'),
      `import { collect, pipe, pool, thread } from 'pipevine'
const r = await collect(pipe([1, 2], pool(thread(new URL('./hash.ts', import.meta.url)), 2)))
console.log(JSON.stringify(r.right.errors.map((e) => e.errors[0].message)))
`,
    )
    const { stdout } = await exec(process.execPath, ['app.mjs'], { cwd: dir, timeout: 30_000 })
    const messages: string[] = JSON.parse(stdout)
    assert.is(messages.length, 2)
    assert.match(messages[0]!, /is TypeScript, and this process has no TypeScript loader/)
    assert.match(messages[0]!, /node --import tsx app\.ts/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a module that is not there fails every item at once, without starting a thread, in thread() and threadPool()', async () => {
  const spawned = threadCounters.spawned
  const url = new URL('../../fixtures/no-such-module.js', import.meta.url)
  const started = performance.now()
  const perRun = right(await withTimeout(collect(pipe([1, 2, 3], pool(thread(url), 2))), 2_000, 'per run'))
  const pooled = threadPool(url, { threads: 2 })
  const viaPool = right(await withTimeout(collect(pipe([1, 2, 3], pool(pooled, 2))), 2_000, 'pooled'))
  assert.ok(performance.now() - started < 500, 'at once: no load retries')
  assert.is(threadCounters.spawned, spawned, 'no thread started')
  for (const { errors } of [perRun, viaPool]) {
    assert.is(errors.length, 3)
    const cause = errors[0]!.errors[0]
    assert.ok(cause instanceof ThreadError && cause.reason === 'load')
    assert.match((cause as Error).message, /Cannot find module .*no-such-module\.js.*new URL\('\.\/worker\.js', import\.meta\.url\)/)
  }
  await pooled.close()
})

test('a module whose import is missing fails at once, with one thread start (not three tries)', async () => {
  const spawned = threadCounters.spawned
  const url = new URL('../../fixtures/thread-missing-dep.ts', import.meta.url)
  const started = performance.now()
  const { errors } = right(await withTimeout(collect(pipe([1, 2, 3], pool(thread(url), 1))), 10_000, 'the run'))
  assert.is(threadCounters.spawned - spawned, 1, 'one thread started, no retry')
  assert.is(errors.length, 3)
  const message = (errors[0]!.errors[0] as Error).message
  assert.match(message, /pipevine-no-such-package/)
  assert.match(message, /A module it imports is missing/)
  assert.ok(performance.now() - started < 5_000)
})

test.run()
