// What `npm pack` ships from a fresh clone, installed the way a user gets it, and used from
// CommonJS and from ESM. The checks the consumers run are in test/fixtures/consumer/checks.cjs
// (add one there to check more of the public API from both module formats).
//
// A fresh clone: the repository's files (tracked and untracked, none that .gitignore names:
// so no dist/) copied to a temp dir, with node_modules linked. `npm pack` there runs `prepack`,
// which builds. The tarball is then unpacked into a consumer project's node_modules/pipevine,
// next to links to pipevine's dependencies (as `npm install <tarball>` lays it out, without the
// registry).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)
const root = resolve(import.meta.dirname, '..')
const consumerFixture = join(root, 'test', 'fixtures', 'consumer')
const work = mkdtempSync(join(tmpdir(), 'pipevine-tarball-'))

interface Packed {
  readonly tarball: string
  readonly files: string[]
}

/** Copies the repository as a fresh clone would have it and runs `npm pack` there. */
async function packFreshClone(): Promise<Packed> {
  const clone = join(work, 'clone')
  const { stdout: listed } = await exec('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, maxBuffer: 64 << 20 })
  for (const file of listed.split('\0')) {
    if (!file || file === 'node_modules' || file.startsWith('node_modules/') || !existsSync(join(root, file))) continue
    mkdirSync(dirname(join(clone, file)), { recursive: true })
    cpSync(join(root, file), join(clone, file))
  }
  assert.not.ok(existsSync(join(clone, 'dist')), 'a fresh clone has no dist/')
  symlinkSync(realpathSync(join(root, 'node_modules')), join(clone, 'node_modules'), 'dir')
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: clone, maxBuffer: 64 << 20 })
  // Lifecycle scripts print to the same stdout: the JSON is the last top-level array.
  const json = stdout.slice(stdout.lastIndexOf('\n[') + 1)
  const [{ filename, files }] = JSON.parse(json.startsWith('[') ? json : stdout)
  return { tarball: join(work, filename), files: files.map((f: { path: string }) => f.path) }
}

const packed = packFreshClone()

/** A consumer project with the tarball unpacked as node_modules/pipevine and the consumer scripts at its top. */
async function consumerProject(): Promise<string> {
  const { tarball } = await packed
  const project = join(work, 'consumer')
  const target = join(project, 'node_modules', 'pipevine')
  mkdirSync(target, { recursive: true })
  await exec('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'])
  const { dependencies } = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'))
  for (const dep of [...Object.keys(dependencies), 'tslib']) symlinkSync(realpathSync(join(root, 'node_modules', dep)), join(project, 'node_modules', dep), 'dir')
  for (const name of readdirSync(consumerFixture)) cpSync(join(consumerFixture, name), join(project, name))
  return project
}

const project = packed.then(consumerProject)

test('`npm pack` on a fresh clone builds first (prepack) and ships both builds with their typings', async () => {
  const { files } = await packed
  for (const file of ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.d.ts', 'dist/cjs/package.json', 'dist/esm/exec/thread/thread-worker.js', 'dist/cjs/exec/thread/thread-worker.js', 'README.md', 'package.json']) {
    assert.ok(files.includes(file), `${file} is packed (packed: ${files.join(', ')})`)
  }
  assert.ok(files.length > 20, `${files.length} files packed`)
})

for (const [format, script] of [
  ['a CommonJS', 'main.cjs'],
  ['an ESM', 'main.mjs'],
] as const) {
  test(`${format} consumer of the installed tarball: every check in test/fixtures/consumer/checks.cjs passes`, async () => {
    const dir = await project
    const { stdout } = await exec(process.execPath, [script], { cwd: dir, timeout: 60_000 }).catch((error: { stdout?: string; message: string }) => {
      assert.unreachable(`${script} failed:\n${error.stdout ?? ''}\n${error.message}`)
      throw error
    })
    const lines = stdout.trim().split('\n')
    const summary = /^(\d+) of (\d+) checks passed$/.exec(lines.at(-1) ?? '')
    assert.ok(summary && summary[1] === summary[2] && Number(summary[2]) >= 8, stdout)
    assert.equal(lines.filter((line) => line.startsWith('FAIL')), [])
  })
}

test.after(() => rmSync(work, { recursive: true, force: true }))

test.run()
