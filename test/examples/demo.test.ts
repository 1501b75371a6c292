// The demo's pipeline on a small temporary tree, and the `npm run demo` script itself.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatProgress, formatReport, formatSummary, hashTree, type FileReader, type Progress } from '../../examples/demo/hash-tree.js'
import { deferred, withTimeout } from '../_helpers.js'

const projectRoot = fileURLToPath(new URL('../../', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'pipevine-demo-'))
test.after(() => rmSync(root, { recursive: true, force: true }))

// The tree: nested files, an empty file, a bigger file, and a dangling symlink
// (as root, chmod 000 would still be readable; a link to nowhere never is).
const files: Record<string, string | Buffer> = {
  'a.txt': 'alpha\n',
  'empty': '',
  'sub/b.txt': 'bravo\n',
  'sub/deeper/c.json': '{"c":3}\n',
  'sub/deeper/big.bin': Buffer.alloc(300_000, 0xab),
  'busy-once.txt': 'sometimes busy\n',
  'always-busy.txt': 'never readable\n',
}
for (const [path, content] of Object.entries(files)) {
  mkdirSync(join(root, path, '..'), { recursive: true })
  writeFileSync(join(root, path), content)
}
symlinkSync(join(root, 'does-not-exist'), join(root, 'sub', 'dangling-link'))
const sha = (content: string | Buffer): string => createHash('sha256').update(content).digest('hex')

/** The real reader, but `busy-once.txt` fails with EBUSY on its first read and `always-busy.txt` on every read. */
function flakyReader(): { reader: FileReader; reads: Map<string, number> } {
  const reads = new Map<string, number>()
  const reader: FileReader = async (path, signal) => {
    const name = path.slice(root.length + 1)
    const n = (reads.get(name) ?? 0) + 1
    reads.set(name, n)
    if ((name === 'busy-once.txt' && n === 1) || name === 'always-busy.txt') {
      throw Object.assign(new Error(`EBUSY: resource busy, read '${path}'`), { code: 'EBUSY' })
    }
    return readFile(path, { signal })
  }
  return { reader, reads }
}

test('hashTree: hashes every readable file, retries transient errors, dead-letters the unreadable', async () => {
  const { reader, reads } = flakyReader()
  const progress: Progress[] = []
  const result = await withTimeout(
    hashTree({ root, readFile: reader, retries: 2, backoffMs: 1, onProgress: (p) => progress.push(p), progressMs: 10 }),
    20_000,
    'hashTree',
  )
  assert.is(result.stopped, undefined)

  const readable = Object.entries(files).filter(([name]) => name !== 'always-busy.txt')
  assert.equal(
    result.files.map((f) => [f.path, f.sha256, f.size]),
    readable.map(([name, content]) => [name, sha(content), Buffer.byteLength(content)]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
  )
  assert.is(result.bytes, readable.reduce((n, [, c]) => n + Buffer.byteLength(c), 0))

  // The dangling link (ENOENT: not retried) and the always-busy file (EBUSY: retried, then given up).
  const dead = [...result.deadLetters].sort((a, b) => (a.path < b.path ? -1 : 1))
  assert.equal(dead, [
    { path: 'always-busy.txt', reason: 'EBUSY', attempts: 3 },
    { path: 'sub/dangling-link', reason: 'ENOENT', attempts: 1 },
  ])
  assert.is(reads.get('busy-once.txt'), 2, 'a transient error is retried once it clears')
  assert.is(reads.get('always-busy.txt'), 3, '1 try + 2 retries')

  const stage = (name: string) => result.report.stages.find((s) => s.name === name)!
  assert.is(stage('read').processed, readable.length)
  assert.is(stage('read').retried, 3, 'busy-once once, always-busy twice')
  assert.is(stage('hash').processed, readable.length)
  assert.is(result.report.failed, 2, 'the dead letters count as failed items')
  assert.is(result.report.processed, readable.length)

  // Progress came through onProgress with the counters, and ends with the final figures.
  assert.ok(progress.length >= 1)
  const last = progress[progress.length - 1]!
  assert.is(last.files, readable.length)
  assert.is(last.deadLetters, 2)
  assert.match(formatProgress(last), /files\/s/)
  assert.match(formatProgress(last), /in flight: read \d+ · retry \d+ · hash \d+/)

  const table = formatReport(result.report)
  assert.match(table, /^stage\s+processed\s+failed\s+retried/)
  assert.match(table, new RegExp(`\\nhash\\s+${readable.length}\\s+0`))
  assert.match(formatSummary(result), /dead letters: 2/)
  assert.match(formatSummary(result), /tree digest: [0-9a-f]{64}/)
})

test('hashTree: with the default reader, the dangling symlink shows up in the dead-letter count; the tree digest', async () => {
  const result = await withTimeout(hashTree({ root, threads: 1, readers: 2 }), 20_000, 'hashTree')
  assert.is(result.stopped, undefined)
  assert.equal(result.deadLetters.map((d) => [d.path, d.reason]), [['sub/dangling-link', 'ENOENT']])
  assert.is(result.files.length, Object.keys(files).length)
  // The tree digest is SHA-256 over the sorted "sha256  path" lines.
  const lines = Object.entries(files)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, content]) => `${sha(content)}  ${name}\n`)
  assert.is(result.treeDigest, sha(lines.join('')))
})

test('hashTree: aborting the signal stops at once and still returns the partial report', async () => {
  const controller = new AbortController()
  const started = deferred()
  let sawAbort = false
  // A reader that hangs until the run is cancelled: the in-flight read must be aborted, not awaited.
  const reader: FileReader = (path, signal) =>
    path.endsWith('b.txt')
      ? new Promise((_, reject) => {
          started.resolve()
          signal.addEventListener('abort', () => ((sawAbort = true), reject(signal.reason)), { once: true })
        })
      : readFile(path, { signal })
  const running = hashTree({ root, readFile: reader, readers: 1, signal: controller.signal })
  await withTimeout(started.promise, 5_000, 'the hanging read starting')
  controller.abort(new Error('Ctrl-C'))
  const result = await withTimeout(running, 5_000, 'hashTree after abort')
  assert.is(result.stopped?.kind, 'cancelled')
  assert.ok(sawAbort, 'the in-flight read saw its signal abort')
  assert.ok(result.report.stages.length >= 2, 'the partial report has the stages')
  assert.ok(result.files.length < Object.keys(files).length)
  assert.match(formatSummary(result), /^stopped \(cancelled\) after/)
})

/** Runs the demo script (non-TTY) and returns its exit code and output; `onStdout` may send it a signal. */
function runDemo(args: string[], onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'examples/demo.ts'), ...args], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      onStdout?.(out, child)
    })
    child.stderr.on('data', (chunk) => (out += chunk))
    child.on('close', (code) => resolve({ code, out }))
  })
}

test('examples/demo.ts: prints the report table and the dead-letter count, exits 0', async () => {
  const { code, out } = await withTimeout(runDemo([root]), 30_000, 'the demo script')
  assert.is(code, 0, out)
  assert.match(out, /stage\s+processed\s+failed\s+retried\s+cancelled\s+in flight/)
  assert.match(out, /\nread\s+\d+/)
  assert.match(out, /\nhash\s+\d+/)
  assert.match(out, /dead letters: 1\n\s+sub\/dangling-link: ENOENT/)
  assert.match(out, new RegExp(`hashed ${Object.keys(files).length} files`))
})

test('examples/demo.ts: SIGINT cancels the run cleanly and still prints the report', async () => {
  let sent = false
  const { code, out } = await withTimeout(
    // Hash this project's node_modules (thousands of files); interrupt as soon as it starts.
    runDemo([], (text, child) => {
      if (!sent && text.includes('hashing every file')) {
        sent = true
        child.kill('SIGINT')
      }
    }),
    30_000,
    'the interrupted demo',
  )
  assert.ok(sent)
  assert.is(code, 130, out)
  assert.match(out, /stage\s+processed\s+failed/)
  assert.match(out, /stopped \(cancelled\) after \d+ files/)
  assert.not.match(out, /tree digest/)
  assert.not.match(out, /Error|at .*\.ts:\d+/)
})

test.run()
