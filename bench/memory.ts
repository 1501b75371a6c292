/**
 * The memory scenario: each (implementation, size) runs in a child process of
 * its own (bench/memory-child.ts), so every peak RSS is that run's alone.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { checkOf, fmtInt, type Check } from './harness.js'
import type { MemoryResult } from './memory-child.js'

export const MEMORY_SIZES = [1_000_000, 5_000_000]
export const MEMORY_QUICK_SIZES = [20_000, 100_000]
/** Measured by default: the 5-minute budget leaves no room for the slower peers (Readable.map needs ~22 s, p-map ~10 s for 5M items); `--memory-peers` adds them. */
export const MEMORY_DEFAULT_IMPLS = ['pipevine', 'async generator chain']
export const MEMORY_PEER_IMPLS = ['Readable.map', 'p-map']
/** Issue 5: the 5M peak within 20% of the 1M peak, and under 150 MB. */
export const MEMORY_GROWTH_LIMIT = 1.2
export const MEMORY_PEAK_LIMIT_MB = 150

const childPath = fileURLToPath(new URL('./memory-child.ts', import.meta.url))

export interface MemoryRow {
  impl: string
  items: number
  result?: MemoryResult
  problem?: string
}

function expectedCheck(n: number): Check {
  const values = { *[Symbol.iterator]() {
    for (let i = 0; i < n; i++) yield i + 3
  } }
  return checkOf(values)
}

function runChild(impl: string, items: number, timeoutMs: number): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childPath, impl, String(items)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.trim().split('\n').pop()
      if (code !== 0 || !line) return reject(new Error(`child exited with ${signal ?? code}${signal === 'SIGKILL' ? ` (timed out after ${timeoutMs} ms)` : ''}: ${stderr.trim().slice(-400)}`))
      try {
        resolve(JSON.parse(line) as MemoryResult)
      } catch (error) {
        reject(error)
      }
    })
  })
}

export async function runMemory(options: { quick: boolean; impls: string[]; timeoutMs: number; log: (line: string) => void }): Promise<MemoryRow[]> {
  const sizes = options.quick ? MEMORY_QUICK_SIZES : MEMORY_SIZES
  const rows: MemoryRow[] = []
  for (const impl of options.impls) {
    for (const items of sizes) {
      const row: MemoryRow = { impl, items }
      rows.push(row)
      try {
        const result = await runChild(impl, items, options.timeoutMs)
        const want = expectedCheck(items)
        if (result.count !== want.count || result.sum !== want.sum || result.hash !== want.hash) {
          row.problem = `wrong output: count ${result.count}, checksum ${result.sum}, hash ${result.hash}; expected ${want.count}, ${want.sum}, ${want.hash}`
        } else row.result = result
      } catch (error) {
        row.problem = `error: ${(error as Error).message}`
      }
      if (row.problem) options.log(`  ✗ ${impl} ${items}: ${row.problem}`)
      else options.log(`  ${impl} ${fmtInt(items)}: peak RSS ${row.result!.peakRssMB.toFixed(1)} MB in ${row.result!.ms.toFixed(0)} ms`)
    }
  }
  return rows
}

/** Peak RSS growth from the smallest to the largest size, per implementation. */
export function memoryGrowth(rows: MemoryRow[], impl: string): { small?: MemoryRow; large?: MemoryRow; growth: number } {
  const mine = rows.filter((row) => row.impl === impl && row.result)
  const small = mine[0]
  const large = mine[mine.length - 1]
  const growth = small && large && small !== large ? large.result!.peakRssMB / small.result!.peakRssMB : NaN
  const out: { small?: MemoryRow; large?: MemoryRow; growth: number } = { growth }
  if (small) out.small = small
  if (large) out.large = large
  return out
}

export function memoryTable(rows: MemoryRow[]): string {
  const lines = [
    '| implementation | items | peak RSS MB | RSS before the run MB | time ms | items/s | peak growth |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const row of rows) {
    const label = row.impl === 'pipevine' ? '**pipevine**' : row.impl === 'async generator chain' ? 'async generator chain *(baseline)*' : row.impl
    if (!row.result) {
      lines.push(`| ${label} | ${fmtInt(row.items)} | ${row.problem} | | | | |`)
      continue
    }
    const r = row.result
    const { small, growth } = memoryGrowth(rows, row.impl)
    const growthCell = small && small !== row && Number.isFinite(growth) ? `${((growth - 1) * 100).toFixed(1)}%` : '–'
    lines.push(`| ${label} | ${fmtInt(row.items)} | ${r.peakRssMB.toFixed(1)} | ${r.startRssMB.toFixed(1)} | ${r.ms.toFixed(0)} | ${fmtInt(row.items / (r.ms / 1000))} | ${growthCell} |`)
  }
  return lines.join('\n')
}
