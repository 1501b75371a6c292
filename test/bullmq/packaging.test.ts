// pipevine/bullmq as a package: the core never loads bullmq; the subpath bundle shares the core's run; the test set needs a real Redis.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { requireRedisServer, startRedis } from './_redis.js'

const exec = promisify(execFile)
const root = resolve(import.meta.dirname, '../..')

test('the core entry (src/index.ts) imports nothing that imports bullmq', () => {
  const seen = new Set<string>()
  const offenders: string[] = []
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!
      if (spec === 'bullmq' || spec.startsWith('bullmq/')) offenders.push(file)
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'))
      // (a doc comment's example may name a file that does not exist)
      if (spec.startsWith('.') && existsSync(target)) visit(target)
    }
  }
  visit(join(root, 'src/index.ts'))
  assert.ok(seen.size > 20, `walked ${seen.size} files`)
  assert.ok(!seen.has(join(root, 'src/bullmq.ts')))
  assert.equal(offenders, [])
})

test('the built core loads without bullmq (CommonJS require cache, ESM bundle text)', async () => {
  const { stdout } = await exec(process.execPath, ['-e', `require(${JSON.stringify(join(root, 'dist/cjs/index.js'))}); console.log(JSON.stringify(Object.keys(require.cache).filter((p) => p.includes('/node_modules/bullmq/'))))`])
  assert.equal(JSON.parse(stdout), [])
  const esm = readFileSync(join(root, 'dist/esm/index.js'), 'utf8')
  assert.not.match(esm, /from ["']bullmq["']|require\(["']bullmq["']\)|import\(["']bullmq["']\)/)
  const files = readdirSync(join(root, 'dist/esm'), { recursive: true }) as string[]
  for (const file of files.filter((f) => f.endsWith('.js') && !f.startsWith('bullmq'))) {
    if (statSync(join(root, 'dist/esm', file)).isFile()) assert.not.match(readFileSync(join(root, 'dist/esm', file), 'utf8'), /from ["']bullmq["']/, file)
  }
})

test("the built pipevine/bullmq (ESM and CommonJS) imports only the index's exports, and its remote stage runs inside the core's run", async () => {
  const server = await startRedis()
  try {
    const program = (load: string) => `${load}
const connection = { host: '127.0.0.1', port: ${server.port} }
const worker = bullmq.serve('pkg', (n) => n + 1, { connection, concurrency: 2 })
worker.ready().then(() => core.collect(core.pipe([1, 2, 3], bullmq.remote('pkg', { connection, concurrency: 2, ordered: true, name: 'far' }))))
  .then(async (r) => { await worker.close(); console.log(JSON.stringify({ values: r.right.values, stages: r.right.report.stages.map((s) => s.name) })) })`
    const esm = program(`import * as core from ${JSON.stringify(join(root, 'dist/esm/index.js'))}\nimport * as bullmq from ${JSON.stringify(join(root, 'dist/esm/bullmq.js'))}`)
    const cjs = program(`const core = require(${JSON.stringify(join(root, 'dist/cjs/index.js'))})\nconst bullmq = require(${JSON.stringify(join(root, 'dist/cjs/bullmq.js'))})`)
    for (const [flag, source] of [['--input-type=module', esm], ['--input-type=commonjs', cjs]] as const) {
      const { stdout } = await exec(process.execPath, [flag, '-e', source], { cwd: root, env: process.env })
      assert.equal(JSON.parse(stdout), { values: [2, 3, 4], stages: ['far'] }, flag)
    }
  } finally {
    await server.stop()
  }
})

test('without a redis-server the tests fail with a clear message (they never skip)', () => {
  assert.throws(() => requireRedisServer('/nonexistent/redis-server'), (error: Error) => /need a real Redis/.test(error.message) && /apt-get install redis-server/.test(error.message))
})

test.run()
