// The demo with adaptive reads: its progress line shows the read stage's current limit.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatProgress, hashTree, type Progress } from '../../examples/demo/hash-tree.js'
import { withTimeout } from '../_helpers.js'

const root = mkdtempSync(join(tmpdir(), 'pipevine-demo-adaptive-'))
test.after(() => rmSync(root, { recursive: true, force: true }))
for (let i = 0; i < 40; i++) writeFileSync(join(root, `f${i}.txt`), `file ${i}\n`)

test('demo progress line: an adaptive read stage shows its current limit, a fixed one does not', async () => {
  const progress: Progress[] = []
  const result = await withTimeout(
    hashTree({ root, readers: { min: 2, max: 16 }, threads: 1, onProgress: (p) => progress.push(p), progressMs: 5 }),
    20_000,
    'hashTree',
  )
  assert.is(result.files.length, 40)
  const line = formatProgress(progress[progress.length - 1]!)
  const limit = Number(/read \d+ \(limit (\d+)\)/.exec(line)?.[1])
  assert.ok(limit >= 2 && limit <= 16, `the read stage's limit in [2, 16] on the progress line: ${line}`)
  assert.not.match(line, /hash \d+ \(limit/, 'a fixed stage shows no limit')
  const fixed = await withTimeout(hashTree({ root, readers: 4, threads: 1, onProgress: (p) => progress.push(p), progressMs: 5 }), 20_000, 'hashTree')
  assert.is(fixed.files.length, 40)
  assert.not.match(formatProgress(progress[progress.length - 1]!), /\(limit/)
})

test.run()
