// Every example in examples/ runs here: its main() is imported and its results
// checked, and the file itself is run as a script (`node --import tsx`) so the
// entry point can't rot either.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withTimeout } from '../_helpers.js'
import * as httpRetry from '../../examples/http-retry.js'
import * as csvTransform from '../../examples/csv-transform.js'
import * as forkMerge from '../../examples/fork-merge.js'
import * as cancellation from '../../examples/cancellation.js'
import * as connections from '../../examples/connections.js'

const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'pipevine-examples-'))
test.after(() => rmSync(tmp, { recursive: true, force: true }))

test('http-retry: transient 503s are retried with backoff, the 404 is kept as a Left', async () => {
  const { ok, failed, retried, requests } = await withTimeout(httpRetry.main(30), 10_000, 'http-retry')
  assert.equal(
    ok.map((i) => i.id),
    Array.from({ length: 30 }, (_, i) => i + 1).filter((id) => id !== 13),
  )
  assert.equal(ok[0], { id: 1, name: 'item 1' })
  assert.is(failed.length, 1)
  assert.is(failed[0]!.id, 13)
  assert.is(failed[0]!.attempts, 1, 'a 404 is not retried')
  assert.match(failed[0]!.reason, /HTTP 404/)
  // ids 3, 6, …, 30 (ten of them) fail twice each before succeeding.
  assert.is(retried, 20)
  assert.is(requests, 30 + 20)
})

test('csv-transform: CSV lines become JSON lines; malformed rows go to the rejects file', async () => {
  const output = join(tmp, 'orders.jsonl')
  const rejects = join(tmp, 'rejected.jsonl')
  const r = await withTimeout(csvTransform.main(undefined, output, rejects), 10_000, 'csv-transform')
  assert.is(r.written, 10)
  assert.is(r.rejected, 2)
  const lines = readFileSync(output, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
  assert.is(lines.length, 10)
  assert.equal(lines[0], { id: 1001, customer: 'ada', sku: 'KB-01', quantity: 2, unitPrice: 49.9, total: 99.8 })
  assert.equal(
    lines.map((l) => l.id),
    [1001, 1002, 1003, 1004, 1005, 1007, 1008, 1009, 1011, 1012],
    'ordered output keeps file order',
  )
  const rejected = readFileSync(rejects, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
  assert.equal(rejected.map((x) => x.row.split(',')[0]), ['1006', '1010'])
  assert.match(rejected[1].reason, /unit_price is not a number: "forty"/)
})

test('fork-merge: every user is enriched from three branches; a branch failing for good makes a Left', async () => {
  const { enriched, failed } = await withTimeout(forkMerge.main(20), 10_000, 'fork-merge')
  assert.equal(
    enriched.map((u) => u.id),
    Array.from({ length: 20 }, (_, i) => i + 1).filter((id) => id !== 7),
  )
  assert.equal(enriched[2], { id: 3, name: 'USER-3', orders: 8, risk: 11, tier: 'gold' })
  // Every 4th id failed its risk lookup once and recovered with the retry in place.
  assert.ok(enriched.some((u) => u.id === 4 && u.risk === 48))
  assert.equal(failed, [{ id: 7, stage: 'enrich', reason: 'risk service unavailable for 7' }])
})

test('cancellation: AbortSignal.timeout ends an endless run as "timeout"; kill() as "killed"', async () => {
  const deadline = await withTimeout(cancellation.withDeadline(150), 5_000, 'deadline run')
  assert.is(deadline.kind, 'timeout')
  assert.ok(deadline.processed > 0, 'work was done before the deadline')
  assert.ok(deadline.sourceClosed, 'the endless source was closed')
  assert.ok(deadline.abortedHandlers > 0, 'in-flight handlers saw their signal abort')

  const killed = await withTimeout(cancellation.withKill(), 5_000, 'killed run')
  assert.is(killed.kind, 'killed')
  assert.is(killed.reason, 'poison row 42')
  assert.ok(killed.processed < 1_000)
})

test('connections: one connection per worker, each used by that worker only, all closed (also after break)', async () => {
  const r = await withTimeout(connections.main(60), 10_000, 'connections')
  assert.is(r.saved, 60)
  assert.is(r.opened, 3)
  assert.is(r.perConnection.length, 3)
  assert.is(r.perConnection.reduce((a, b) => a + b, 0), 60)
  assert.is(r.openAfter, 0)
  assert.is(r.openAfterBreak, 0)
})

/** Runs example files as scripts (see _run-scripts.ts) and resolves with the exit code and output. */
function runScripts(files: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    // From the project (where tsx resolves), with TMPDIR pointing at this test's own folder for any output files.
    const child = spawn(process.execPath, ['--import', 'tsx', join(examplesDir, '../test/examples/_run-scripts.ts'), ...files.map((f) => join(examplesDir, f))], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: join(examplesDir, '..'),
      env: { ...process.env, TMPDIR: tmp },
    })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.stderr.on('data', (chunk) => (out += chunk))
    child.on('close', (code) => resolve({ code, out }))
  })
}

// What each example prints when run as a script. cpu-fanout is checked only
// here (its figures are exact, and its threads are the slow part to start).
// Every .ts file directly in examples/ must be listed, so none goes untested.
const scripts: Record<string, RegExp> = {
  'http-retry.ts': /fetched 29 items with 50 requests \(20 retries\)\nfailed: item 13 after 1 attempt\(s\): HTTP 404/,
  'csv-transform.ts': /wrote 10 orders to .*\nrejected 2 rows/,
  'fork-merge.ts': /  3  USER-3 .* gold\n[\s\S]*failed: user 7 in enrich/,
  'cancellation.ts': /deadline: run ended as "timeout"[\s\S]*kill: run ended as "killed" \(poison row 42\)/,
  'cpu-fanout.ts': /664579 primes below 10,000,000[\s\S]*longest Collatz chain below 20,000: 17647 \(278 steps\)/,
  'connections.ts': /saved 60 rows over 3 connections[\s\S]*connections left open: 0 after the run, 0 after a consumer broke off early/,
  'demo.ts': /./, // run by test/examples/demo.test.ts
}

test('every example file is covered by this test', () => {
  const found = readdirSync(examplesDir).filter((f) => f.endsWith('.ts')).sort()
  assert.equal(found, Object.keys(scripts).sort())
})

test('each example runs as a script, with the expected output and no warnings', async () => {
  const names = Object.keys(scripts).filter((f) => f !== 'demo.ts')
  const { code, out } = await withTimeout(runScripts(names), 90_000, 'the example scripts')
  assert.is(code, 0, out)
  assert.not.match(out, /Warning/, out)
  // Split the output at the markers: each script's own lines.
  const parts = out.split(/^### /m).slice(1)
  assert.equal(parts.map((p) => p.slice(0, p.indexOf('\n')).replace(/^.*\//, '')), names, out)
  names.forEach((name, i) => {
    const text = parts[i]!
    assert.match(text, scripts[name]!, `${name} printed:\n${text}`)
    assert.not.match(text, /Warning|Error/, `${name} printed a warning or error:\n${text}`)
  })
})

test.run()
