// Packaging: what a user installs. Runs against the built dist/ (npm test builds first).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)
const root = resolve(import.meta.dirname, '..')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)

/** A temporary project with pipevine installed as a dependency (files copied, its dependencies linked). */
function tempProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipevine-pkg-'))
  const target = join(dir, 'node_modules', 'pipevine')
  mkdirSync(target, { recursive: true })
  for (const entry of ['package.json', 'dist']) cpSync(join(root, entry), join(target, entry), { recursive: true })
  for (const dep of ['ix', 'fp-ts', 'comlink', 'tslib']) symlinkSync(join(root, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir')
  return dir
}

const program = (load: string) => `
${load}
const { pipe, pool, retry, collect, isRight } = pipevine
const flaky = (n) => { if (n % 3 === 0 && !seen.has(n)) { seen.add(n); throw new Error('flaky') } return n * 2 }
const seen = new Set()
collect(pipe([1, 2, 3, 4, 5, 6], pool(flaky, { concurrency: 2, ordered: true }), retry({ retries: 1, baseMs: 1 })))
  .then((r) => { if (!isRight(r)) throw r.left; console.log(JSON.stringify(r.right.values.sort((a, b) => a - b))) })
`

test('the built package runs a pipeline when imported as ESM', async () => {
  const dir = tempProject()
  try {
    writeFileSync(join(dir, 'main.mjs'), program("import * as pipevine from 'pipevine'"))
    const { stdout } = await exec(process.execPath, ['main.mjs'], { cwd: dir })
    assert.equal(JSON.parse(stdout), [2, 4, 6, 8, 10, 12])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the built package runs a pipeline when required as CommonJS', async () => {
  const dir = tempProject()
  try {
    writeFileSync(join(dir, 'main.cjs'), program("const pipevine = require('pipevine')"))
    const { stdout } = await exec(process.execPath, ['main.cjs'], { cwd: dir })
    assert.equal(JSON.parse(stdout), [2, 4, 6, 8, 10, 12])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// Worker threads from the installed package: the bundle finds its thread entry (dist/*/exec/thread/thread-worker.js).
const threadProgram = (load: string) => `
${load}
const { pipe, pool, thread, collect, isRight } = pipevine
const roots = (n) => { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i); return Math.round(x) }
const moduleUrl = require('node:url').pathToFileURL(require('node:path').resolve('work.mjs'))
Promise.all([
  collect(pipe([10, 20, 30], pool(thread(moduleUrl), { concurrency: 2, ordered: true }))),
  collect(pipe([10, 20, 30], pool(thread(roots), { ordered: true }))),
]).then(([a, b]) => {
  if (!isRight(a) || !isRight(b)) throw new Error('run failed')
  if (a.right.errors.length + b.right.errors.length > 0) throw a.right.errors[0] ?? b.right.errors[0]
  console.log(JSON.stringify([a.right.values, b.right.values]))
})
`
const threadModule = 'export default (n) => { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i); return Math.round(x) }\n'

for (const [format, file, load] of [
  ['ESM', 'main.mjs', "import * as pipevine from 'pipevine'\nimport { createRequire } from 'node:module'\nconst require = createRequire(import.meta.url)"],
  ['CommonJS', 'main.cjs', "const pipevine = require('pipevine')"],
] as const) {
  test(`the built package runs thread stages (module and function) when loaded as ${format}, and exits`, async () => {
    const dir = tempProject()
    try {
      writeFileSync(join(dir, 'work.mjs'), threadModule)
      writeFileSync(join(dir, file), threadProgram(load))
      const { stdout } = await exec(process.execPath, [file], { cwd: dir, timeout: 30_000 })
      assert.equal(JSON.parse(stdout), [
        [19, 57, 107],
        [19, 57, 107],
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

test('the worker-thread entry loads nothing but comlink and Node built-ins (each thread pays for what it loads when it starts)', () => {
  for (const [file, pattern] of [
    ['dist/esm/exec/thread/thread-worker.js', /\bfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g],
    ['dist/cjs/exec/thread/thread-worker.js', /\brequire\(\s*["']([^"']+)["']\s*\)/g],
  ] as const) {
    const text = readFileSync(join(root, file), 'utf8')
    const loaded = new Set([...text.matchAll(pattern)].map((m) => m[1] ?? m[2]))
    assert.ok(loaded.has('comlink'), `${file} loads comlink`)
    const others = [...loaded].filter((name) => name !== 'comlink' && !name!.startsWith('node:'))
    assert.equal(others, [], `${file} loads only comlink and node: built-ins`)
  }
})

test('npm pack ships only the build, the README, the changelog and the licence', async () => {
  const { stdout } = await exec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root })
  const files: string[] = JSON.parse(stdout)[0].files.map((f: { path: string }) => f.path)
  assert.ok(files.includes('dist/esm/index.js') && files.includes('dist/cjs/index.js'), 'both builds are packed')
  assert.ok(files.includes('dist/esm/index.d.ts') && files.includes('dist/cjs/index.d.ts'), 'both typings are packed')
  const unexpected = files.filter((f) => !/^(dist\/(esm|cjs)\/.+\.(js|d\.ts)|dist\/cjs\/package\.json|README\.md|CHANGELOG\.md|LICENSE|package\.json)$/.test(f))
  assert.equal(unexpected, [], 'nothing but the build and the docs')
})

test('publint finds no problems', async () => {
  const { stdout } = await exec(bin('publint'), ['--strict'], { cwd: root })
  assert.match(stdout, /All good/)
})

test('arethetypeswrong finds no problems for ESM, CommonJS and bundlers', async () => {
  const { stdout } = await exec(bin('attw'), ['--pack', '.', '--format', 'json'], { cwd: root })
  const result = JSON.parse(stdout)
  assert.equal(result.analysis?.problems ?? result.problems ?? [], [])
})

test.run()
