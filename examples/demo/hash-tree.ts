// The demo's pipeline, as a function a test can run on a small directory.
//
//   walk(root)                       an async generator: every file under root, lazily
//   → pool(readFile, 8)              async I/O, eight reads in flight
//   → retry(transient errors only)   EMFILE/EBUSY/EAGAIN… get another try after a backoff
//   → deadLetter(unreadable)         files that still can't be read go aside; the rest flow on
//   → pool(thread(hash-worker), 2)   SHA-256 on two worker threads
//   → tap(keep the digest)           an IxJS operator, as the last step
//
// Every stage is bounded (`buffer + workers` items), so a slow hasher holds back
// the reader, which holds back the directory walk: memory stays flat however
// big the tree is.
import { createHash } from 'node:crypto'
import { opendir, readFile, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { tap } from 'ix/Ix.asynciterable.operators'
import { deadLetter, isLeft, isRight, pipe, pool, retry, run, thread, type AdaptiveConcurrency, type Report, type StageContext, type StageError } from '../../src/index.js'
import type sha256File from './hash-worker.js'
import type { FileData, HashedFile } from './hash-worker.js'

/** Reads one file; the demo uses `fs.promises.readFile`, a test can inject failures. */
export type FileReader = (path: string, signal: AbortSignal) => Promise<Uint8Array>

export interface HashTreeOptions {
  /** The directory to hash. */
  root: string
  /** Files read at once (default 8), or `{ min, max }`: the read stage finds its own limit (shown on the progress line). */
  readers?: number | AdaptiveConcurrency
  /** Worker threads hashing at once (default 2). */
  threads?: number
  /** Extra tries for a transient read error (default 3). */
  retries?: number
  /** First backoff delay in ms (default 20; it doubles per try). */
  backoffMs?: number
  /** Abort to stop early; the result then has `stopped` set and a partial report. */
  signal?: AbortSignal
  /** Called about every `progressMs` while the run goes, and once at the end. */
  onProgress?: (progress: Progress) => void
  /** Default 200. */
  progressMs?: number
  /** Replaces `fs.promises.readFile` (tests use it to make reads fail). */
  readFile?: FileReader
}

export interface Progress {
  /** Milliseconds since the run started. */
  elapsedMs: number
  /** Files hashed so far. */
  files: number
  /** Bytes read so far. */
  bytes: number
  /** Files sent to the dead letter so far. */
  deadLetters: number
  /** The run's report: each stage's processed, failed, retried and in-flight counts. */
  report: Report
  /** Stages whose concurrency is adaptive: the progress line shows their current limit. */
  adaptive: string[]
}

/** A file that could not be read (after its retries), as the dead letter got it. */
export interface DeadLetter {
  /** Relative to the root. */
  path: string
  /** The error's code (`ENOENT`, `EACCES`, …) or its message. */
  reason: string
  attempts: number
}

export interface HashTreeResult {
  /** Every hashed file, relative path and SHA-256, sorted by path. */
  files: HashedFile[]
  bytes: number
  deadLetters: DeadLetter[]
  /** SHA-256 over the sorted "sha256  path" lines: one fingerprint for the whole tree. */
  treeDigest: string
  report: Report
  elapsedMs: number
  /** Why the run ended early (`cancelled`, `timeout`, …), if it did. */
  stopped?: { kind: string; message: string }
}

/** Errors worth another try: the OS is short of something for a moment. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT'])
export const isTransient = (error: unknown): boolean => TRANSIENT.has((error as NodeJS.ErrnoException)?.code ?? '')

/**
 * Every file under `root`, depth first, one directory handle open at a time.
 * Symbolic links are listed but not followed into directories (no cycles); a
 * dangling link is listed, and its read fails: it ends up in the dead letter.
 */
async function* walk(root: string, skipped: (path: string, error: unknown) => void): AsyncGenerator<string> {
  const pending = [root]
  while (pending.length > 0) {
    const dir = pending.pop()!
    let entries
    try {
      entries = await opendir(dir)
    } catch (error) {
      skipped(dir, error)
      continue
    }
    for await (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) pending.push(path)
      else if (entry.isFile()) yield path
      else if (entry.isSymbolicLink()) {
        const target = await stat(path).catch(() => null)
        if (target === null || !target.isDirectory()) yield path
      }
    }
  }
}

/**
 * The hashing stage: `threads` worker threads, each loading hash-worker.ts once.
 * `transfer: true` moves each file's bytes to its thread instead of copying them.
 */
function hashStage(threads: number) {
  const sha256 = thread<typeof sha256File>(new URL('./hash-worker.ts', import.meta.url), { transfer: true })
  return pool(sha256, { concurrency: threads, name: 'hash' })
}

/** Hashes every file under `options.root`; never rejects for a bad file (it goes to `deadLetters`). */
export async function hashTree(options: HashTreeOptions): Promise<HashTreeResult> {
  const { root, readers = 8, threads = 2, retries = 3, backoffMs = 20, signal, onProgress, progressMs = 200 } = options
  const reader: FileReader = options.readFile ?? ((path, signal) => readFile(path, { signal }))
  const deadLetters: DeadLetter[] = []
  const hashed: HashedFile[] = []
  let bytes = 0

  // Stage 1: async I/O. The handler's signal aborts on Ctrl-C, so a big read stops at once.
  const read = async function read(path: string, { signal }: StageContext): Promise<FileData> {
    const data = await reader(path, signal)
    bytes += data.byteLength
    return { path: relative(root, path), data }
  }

  const files = pipe(
    walk(root, (path, error) => deadLetters.push({ path: relative(root, path) || '.', reason: reasonOf(error), attempts: 1 })),
    pool(read, { concurrency: readers }),
    // Only transient errors are retried; ENOENT or EACCES would fail the same way again.
    retry({ retries, backoff: 'exponential', baseMs: backoffMs, maxMs: 1_000, jitter: true, when: isTransient }),
    deadLetter((error: StageError) => {
      deadLetters.push({ path: relative(root, String(error.item)), reason: reasonOf(error.cause), attempts: error.attempts })
    }),
    hashStage(threads),
    // An IxJS operator works as a last step too: keep each digest as it arrives,
    // so a cancelled run still has what it finished.
    tap((item) => {
      if (isRight(item)) hashed.push(item.right)
    }),
  )

  const started = performance.now()
  const progress = (report: Report): Progress => ({
    elapsedMs: performance.now() - started,
    files: report.processed,
    bytes,
    deadLetters: deadLetters.length,
    report,
    adaptive: typeof readers === 'number' ? [] : ['read'],
  })
  const result = await run(files, {
    ...(signal ? { signal } : {}),
    ...(onProgress ? { onProgress: (report: Report) => onProgress(progress(report)), progressMs } : {}),
  })

  const report = isLeft(result) ? result.left.report! : result.right
  hashed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const digest = createHash('sha256')
  for (const file of hashed) digest.update(`${file.sha256}  ${file.path}\n`)
  return {
    files: hashed,
    bytes,
    deadLetters,
    treeDigest: digest.digest('hex'),
    report,
    elapsedMs: performance.now() - started,
    ...(isLeft(result) ? { stopped: { kind: result.left.kind, message: result.left.message } } : {}),
  }
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? error.message : String(error)
}

// ---- formatting ----------------------------------------------------------------------

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

/** One progress line: files/s, bytes/s and each stage's in-flight count (and an adaptive stage's current limit). */
export function formatProgress(p: Progress): string {
  const seconds = Math.max(p.elapsedMs / 1000, 0.001)
  const inFlight = p.report.stages.map((s) => `${s.name} ${s.inFlight}${p.adaptive.includes(s.name) ? ` (limit ${s.concurrency})` : ''}`).join(' · ')
  return (
    `${p.files} files, ${formatBytes(p.bytes)} ` +
    `| ${Math.round(p.files / seconds)} files/s, ${formatBytes(p.bytes / seconds)}/s ` +
    `| dead ${p.deadLetters} | in flight: ${inFlight}`
  )
}

/** The final per-stage table. */
export function formatReport(report: Report): string {
  const header = ['stage', 'processed', 'failed', 'retried', 'cancelled', 'in flight', 'busy ms', 'time ms']
  const rows = report.stages.map((s) => [
    s.name,
    String(s.processed),
    String(s.failed),
    String(s.retried),
    String(s.cancelled),
    String(s.inFlight),
    s.busyMs.toFixed(0),
    s.durationMs.toFixed(0),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** The summary printed after the table. */
export function formatSummary(result: HashTreeResult): string {
  const seconds = Math.max(result.elapsedMs / 1000, 0.001)
  const lines = [
    `${result.stopped ? `stopped (${result.stopped.kind}) after` : 'hashed'} ${result.files.length} files, ${formatBytes(result.bytes)} ` +
      `in ${seconds.toFixed(2)} s (${Math.round(result.files.length / seconds)} files/s, ${formatBytes(result.bytes / seconds)}/s)`,
    `dead letters: ${result.deadLetters.length}`,
    ...result.deadLetters.slice(0, 5).map((d) => `  ${d.path}: ${d.reason} (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})`),
    ...(result.deadLetters.length > 5 ? [`  … and ${result.deadLetters.length - 5} more`] : []),
  ]
  if (!result.stopped) lines.push(`tree digest: ${result.treeDigest}`)
  return lines.join('\n')
}
