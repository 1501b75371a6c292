/**
 * Draws docs/adaptive.svg: an adaptive pool's limit and its throughput over
 * time against the simulated service of bench/sim-server.ts (capacity 16, 4 ms
 * a call; halved to 8 at 2.5 s), with the capacity for reference.
 *
 *   node --import tsx bench/adaptive-plot.ts [out.svg]
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { adaptiveRun, type Trace } from './adaptive.js'

const C = 16
const ITEMS = 12_000
const CHANGE = { atMs: 2_500, capacity: C / 2 }
const W = 760
const H = 360
const PAD = { left: 56, right: 64, top: 36, bottom: 44 }

/** Items per second between consecutive samples, smoothed over `span` samples. */
function throughput(trace: Trace, span = 4): number[] {
  return trace.map((_, i) => {
    const from = trace[Math.max(0, i - span)]!
    const to = trace[i]!
    return to[0] > from[0] ? ((to[2] - from[2]) / (to[0] - from[0])) * 1_000 : 0
  })
}

function path(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ')
}

export function plot(trace: Trace): string {
  const endMs = trace[trace.length - 1]![0]
  const rates = throughput(trace)
  const maxLimit = Math.max(2 * C, ...trace.map((s) => s[1]))
  const maxRate = Math.max(...rates) * 1.1
  const x = (ms: number): number => PAD.left + (ms / endMs) * (W - PAD.left - PAD.right)
  const yLimit = (v: number): number => H - PAD.bottom - (v / maxLimit) * (H - PAD.top - PAD.bottom)
  const yRate = (v: number): number => H - PAD.bottom - (v / maxRate) * (H - PAD.top - PAD.bottom)
  const capacity: [number, number][] = [
    [x(0), yLimit(C)],
    [x(CHANGE.atMs), yLimit(C)],
    [x(CHANGE.atMs), yLimit(CHANGE.capacity)],
    [x(endMs), yLimit(CHANGE.capacity)],
  ]
  const ticks: string[] = []
  for (let s = 0; s * 1_000 <= endMs; s++) ticks.push(`<text x="${x(s * 1_000)}" y="${H - PAD.bottom + 18}" text-anchor="middle">${s} s</text>`)
  for (let v = 0; v <= maxLimit; v += 8) ticks.push(`<text x="${PAD.left - 8}" y="${yLimit(v) + 4}" text-anchor="end">${v}</text>`)
  const rateStep = Math.max(500, Math.ceil(maxRate / 5 / 500) * 500)
  for (let v = 0; v <= maxRate; v += rateStep) ticks.push(`<text x="${W - PAD.right + 8}" y="${yRate(v) + 4}">${v}</text>`)
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${PAD.left}" y="20" font-size="14" font-weight="bold">pool(call, { concurrency: { min: 1, max: 256 } }) against a service of capacity ${C}, halved at ${CHANGE.atMs / 1000} s</text>
<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#999"/>
<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#999"/>
<line x1="${W - PAD.right}" y1="${PAD.top}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#999"/>
<g fill="#555">${ticks.join('')}</g>
<text x="16" y="${PAD.top + 90}" transform="rotate(-90 16 ${PAD.top + 90})" fill="#1f6feb">limit (calls at once)</text>
<text x="${W - 10}" y="${PAD.top + 80}" transform="rotate(90 ${W - 10} ${PAD.top + 80})" fill="#d97706">items / s</text>
<path d="${path(capacity)}" fill="none" stroke="#16a34a" stroke-dasharray="6 4" stroke-width="1.5"/>
<path d="${path(trace.map((s, i) => [x(s[0]), yRate(rates[i]!)]))}" fill="none" stroke="#d97706" stroke-width="1.5"/>
<path d="${path(trace.map((s) => [x(s[0]), yLimit(s[1])]))}" fill="none" stroke="#1f6feb" stroke-width="2"/>
<g transform="translate(${PAD.left + 12},${PAD.top + 8})">
<line x1="0" y1="0" x2="24" y2="0" stroke="#1f6feb" stroke-width="2"/><text x="30" y="4">limit (StageReport.concurrency)</text>
<line x1="0" y1="18" x2="24" y2="18" stroke="#d97706" stroke-width="1.5"/><text x="30" y="22">throughput</text>
<line x1="0" y1="36" x2="24" y2="36" stroke="#16a34a" stroke-dasharray="6 4" stroke-width="1.5"/><text x="30" y="40">service capacity</text>
</g>
</svg>
`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? fileURLToPath(new URL('../docs/adaptive.svg', import.meta.url))
  const trace: Trace = []
  const result = await adaptiveRun({ min: 1, max: 256 }, ITEMS, C, trace, 25, CHANGE)
  writeFileSync(out, plot(trace))
  console.log(`${out}: ${trace.length} samples over ${(result.ms / 1000).toFixed(1)} s, ${result.refused} of ${result.calls} calls refused`)
}
