// npm run soak: 10,000,000 items through a four-stage pipeline with 1% failures
// and retries, printing heap and RSS every second. Passes when the heap after the
// run is within 10% of the heap after the first million items (no growth with
// stream length). Pass a smaller count as the first argument for a quick look.
import { pipe, pool, retry, values, run, isLeft } from '../src/index.js'

const total = Number(process.argv[2] ?? 10_000_000)
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
const gc = (globalThis as { gc?: () => void }).gc
const heapNow = (): number => {
  gc?.()
  return process.memoryUsage().heapUsed
}

let produced = 0
let heapAfterFirstMillion = 0
function* source(): Generator<number> {
  for (let i = 0; i < total; i++) {
    produced = i + 1
    if (produced === Math.min(1_000_000, total)) heapAfterFirstMillion = heapNow()
    yield i
  }
}

// 1% of items fail on their first attempt (deterministically, by value) and succeed on the retry.
const failedOnce = new Uint8Array(total)
const flaky = async (n: number): Promise<number> => {
  const i = n / 2 // the item's index: `parse` doubled it
  if (i % 100 === 7 && failedOnce[i] === 0) {
    failedOnce[i] = 1
    throw new Error(`transient ${i}`)
  }
  return n + 1
}
const parse = (n: number): number => n * 2
const enrich = async (n: number): Promise<number> => n - 1
const tally = (n: number): number => n

const started = performance.now()
const ticker = setInterval(() => {
  const { heapUsed, rss } = process.memoryUsage()
  const s = (performance.now() - started) / 1000
  console.log(`${s.toFixed(0).padStart(4)} s  ${produced.toLocaleString('en-US').padStart(11)} items  heap ${mb(heapUsed).padStart(6)} MB  rss ${mb(rss).padStart(6)} MB`)
}, 1_000)

const result = await run(
  pipe(source(), pool(parse, { buffer: 16 }), pool(flaky, { concurrency: 8, buffer: 16 }), retry({ retries: 2, backoff: 'none' }), pool(enrich, { concurrency: 4, buffer: 16 }), pool(tally), values()),
  { timing: false },
)
clearInterval(ticker)
const heapAfter = heapNow()
const seconds = (performance.now() - started) / 1000
if (isLeft(result)) {
  console.error(`run failed: ${result.left.kind}: ${result.left.message}`)
  process.exit(1)
}
const report = result.right
const growth = heapAfterFirstMillion ? (heapAfter - heapAfterFirstMillion) / heapAfterFirstMillion : 0
console.log(
  `\n${report.processed.toLocaleString('en-US')} processed, ${report.failed} failed, ` +
    `${report.stages.reduce((n, s) => n + s.retried, 0).toLocaleString('en-US')} retried in ${seconds.toFixed(1)} s ` +
    `(${Math.round(total / seconds).toLocaleString('en-US')} items/s)`,
)
console.log(`heap after the first million: ${mb(heapAfterFirstMillion)} MB; after the run: ${mb(heapAfter)} MB (${(growth * 100).toFixed(1)}%)`)
console.log(`peak RSS: ${mb(process.resourceUsage().maxRSS * 1024)} MB (includes the ${mb(total)} MB retry bookkeeping array of this script)`)
const ok = report.processed === total && report.failed === 0 && growth <= 0.1
console.log(ok ? 'soak: PASS' : 'soak: FAIL')
process.exitCode = ok ? 0 : 1
