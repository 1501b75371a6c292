// `npm run demo [dir]`: hashes every file under a directory (default: this
// project's node_modules) through a pipevine pipeline — async reads, SHA-256 on
// worker threads, retries for transient errors, a dead letter for unreadable
// files — with a live progress line and a per-stage report at the end.
// Ctrl-C cancels cleanly: in-flight reads abort, the threads end, and the report
// of what was done so far is still printed.
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatProgress, formatReport, formatSummary, hashTree, type Progress } from './demo/hash-tree.js'

const root = resolve(process.argv[2] ?? fileURLToPath(new URL('../node_modules', import.meta.url)))
const tty = process.stdout.isTTY === true

// Ctrl-C aborts the run; a second Ctrl-C exits at once.
const controller = new AbortController()
process.once('SIGINT', () => {
  controller.abort(new Error('interrupted (Ctrl-C)'))
  process.once('SIGINT', () => process.exit(130))
})

// On a terminal the progress line redraws in place; in a log or a pipe it is
// printed as plain lines, once a second.
const onProgress = (p: Progress): void => {
  if (tty) process.stdout.write(`\r\x1b[2K${formatProgress(p).slice(0, (process.stdout.columns || 120) - 1)}`)
  else console.log(formatProgress(p))
}

console.log(`hashing every file under ${root}`)
// Reads find their own concurrency (the progress line shows the limit): up to 64 at once while the disk keeps up.
const result = await hashTree({ root, readers: { min: 2, max: 64 }, signal: controller.signal, onProgress, progressMs: tty ? 100 : 1_000 })
if (tty) process.stdout.write('\r\x1b[2K')

console.log('')
console.log(formatReport(result.report))
console.log('')
console.log(formatSummary(result))
process.exitCode = result.stopped ? (result.stopped.kind === 'cancelled' ? 130 : 1) : 0
