/**
 * pipevine's side-by-side benchmark suite (issue 5).
 *
 *   npm run bench                 (node --expose-gc bench/run.mjs) every scenario, full size; writes BENCHMARKS.md
 *   npm run bench -- --quick      small sizes, in seconds (checks the suite works; writes nothing)
 *
 * Options: --only=a,b (scenario names), --runs=N (measured runs, default 5; 2 with --quick),
 * --json=PATH (machine-readable results), --no-write, --write (also in --quick),
 * --memory-peers (add Readable.map and p-map to the memory scenario).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { machineDescription, runScenario, scenarioTable, type ScenarioResult, type Scenario } from './harness.js'
import { forkMerge, ioPoolCheap, ioPoolOrdered, ioPoolUnordered, overhead, retryStorm } from './scenarios.js'
import { cpuPool, cpuSkew, cpuSmall, manyRuns } from './cpu.js'
import { MEMORY_DEFAULT_IMPLS, MEMORY_PEER_IMPLS, memoryTable, runMemory, type MemoryRow } from './memory.js'
import { evaluateTargets, targetsTable, type TargetResult } from './targets.js'
import { PEERS } from './peers.js'
import { DEPTH_ITEMS, DEPTHS, depthScenarios, depthTable } from './depth.js'
import { remoteTable, runRemote, type RemoteRow } from './remote.js'
import { limitSections, runLimits, type LimitResults } from './limits.js'

const SCENARIOS: Scenario[] = [overhead, ioPoolUnordered, ioPoolOrdered, ioPoolCheap, retryStorm, forkMerge, cpuPool, cpuSmall, manyRuns, cpuSkew]
/** A peer whose full-size run would take longer than this runs on fewer items (see harness.ts). */
const PEER_CAP_MS = 600
const ALL_NAMES = [...SCENARIOS.map((s) => s.name), 'depth', 'memory', 'adaptive', 'rate', 'remote']
const OUTPUT = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url))
/** Text after this line in BENCHMARKS.md is written by hand and kept across runs. */
const KEEP_MARKER = '<!-- Hand-written notes below this line are kept when the benchmarks are re-run. -->'

interface Args {
  quick: boolean
  only: string[] | undefined
  runs: number
  json: string | undefined
  write: boolean
  memoryPeers: boolean
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: undefined, runs: NaN, json: undefined, write: true, memoryPeers: false }
  let writeGiven: boolean | undefined
  for (const arg of argv) {
    const [key, value] = arg.split('=', 2) as [string, string | undefined]
    if (key === '--quick') args.quick = true
    else if (key === '--only') args.only = value?.split(',').filter(Boolean)
    else if (key === '--runs') args.runs = Number(value)
    else if (key === '--json') args.json = value
    else if (key === '--write') writeGiven = true
    else if (key === '--no-write') writeGiven = false
    else if (key === '--memory-peers') args.memoryPeers = true
    else throw new Error(`unknown option ${arg}`)
  }
  if (Number.isNaN(args.runs)) args.runs = args.quick ? 2 : 5
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a positive integer')
  const unknown = args.only?.filter((name) => !ALL_NAMES.includes(name)) ?? []
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${ALL_NAMES.join(', ')}`)
  // A quick or partial run never replaces the full run in BENCHMARKS.md unless asked to.
  args.write = writeGiven ?? (!args.quick && args.only === undefined)
  return args
}

function header(args: Args, totalMs: number | undefined): string {
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  return [
    '# Benchmarks',
    '',
    `Latest ${args.quick ? 'quick' : 'full'} run of \`npm run bench${args.quick ? ' -- --quick' : ''}\`, ${when}${totalMs !== undefined ? `, ${(totalMs / 1000).toFixed(0)} s in all` : ''}.`,
    '',
    `**Machine:** ${machineDescription()}.`,
    '',
    '**Method.** All implementations of a scenario run in one process (`node --expose-gc bench/run.mjs`), ' +
      (args.quick ? 'without a warm-up (quick run), in ' : 'first once each to warm up (at a tenth of the size), then in ') +
      `${args.runs} measured rounds, each round in a different rotation of the order (reversed every other round)${args.quick ? '' : '; a full GC runs before every run'}. ` +
      'The table gives the median, the fastest and slowest run, and throughput from the median. Every run\'s output is checked (count, sum, and for ordered ' +
      'scenarios an order-sensitive hash) against the expected result; a run that is wrong, throws or takes over a minute drops its row. ' +
      '"× baseline" is the row\'s throughput over the baseline\'s (above 1 is faster). ' +
      `A peer whose full-size run would take over ${PEER_CAP_MS / 1000} s (0.8–2.5 s in the timer- and CPU-bound scenarios; judged from its warm-up, and again from its first measured run) is measured on fewer items to keep the whole run under 5 minutes; its row is marked †. ` +
      'The memory scenario runs each size in a child process of its own.',
    '',
    '**How each peer is used:** ' + PEERS.map((peer) => `${peer.name}${peer.note ? ` — ${peer.note}` : ''}`).join('; ') + '. CPU peers: piscina, tinypool and workerpool, each `run`/`exec` per task.',
  ].join('\n')
}

function scenarioSection(result: ScenarioResult, quick: boolean): string {
  const lines = [`## ${result.name}`, '', `${result.description}; ${result.items.toLocaleString('en-US')} items${quick ? ' (quick size)' : ''}.`, '', scenarioTable(result)]
  if (result.notes.length > 0) lines.push('', ...result.notes.map((note) => `- ${note}`))
  return lines.join('\n')
}

function depthSection(results: ScenarioResult[], quick: boolean): string {
  return [
    '## depth',
    '',
    `${DEPTHS.join(', ')} chained \`async x => x + 1\` stages (each its own function), concurrency 1, ordered; ${(quick ? results[0]?.items ?? 0 : DEPTH_ITEMS).toLocaleString('en-US')} items${quick ? ' (quick size)' : ''}. ` +
      'Each depth is measured as a scenario of its own (all four rows alternating in one process), and shown here as µs per item per stage (the median run\'s time ÷ items ÷ stages). ' +
      'pipevine is read with `for await` (through `values()`) and with `run`; the generator chain and it-pipe + it-map with `for await`. "× generators" and "× it-map" are speed ratios (above 1: pipevine is faster); "÷ 3-stage" is the time per stage over pipevine\'s own 3-stage figure.',
    '',
    depthTable(results),
    '',
    '- `pipevine (run)` hands back no values: its rows are checked by the report (`processed` = items, `failed` = 0).',
  ].join('\n')
}

function memorySection(rows: MemoryRow[], quick: boolean): string {
  return [
    '## memory',
    '',
    `Integers from a generator through three \`async x => x + 1\` stages with buffers of 16 (pipevine: \`pool(f, { buffer: 16 })\` × 3), one child process per row${quick ? ' (quick sizes)' : ''}. ` +
      'Peak RSS is the process\'s (`process.resourceUsage().maxRSS`), which includes Node, the tsx loader and the code under test: "RSS before the run" shows that floor. ' +
      'Constant memory: the larger run\'s peak within 20% of the smaller one\'s.',
    '',
    memoryTable(rows),
    '',
    `- One run per row (a peak, not a timing). Readable.map and p-map are left out of the default run for time (≈22 s and ≈10 s for 5M items); \`npm run bench -- --only=memory --memory-peers\` measures them.`,
  ].join('\n')
}

function remoteSection(rows: RemoteRow[]): string {
  return [
    '## remote',
    '',
    'pipevine/bullmq: `remote(queue, { concurrency: 2 × processes × per-process concurrency })` served by `serve()` in 1, 2 and 4 processes, against raw BullMQ ' +
      '(`addBulk` of every job in chunks of 1,000, a `Worker` per process, `QueueEvents` counting `completed`; jobs removed on completion in both), on a redis-server of the run\'s own. ' +
      'Each process is started once per row, then one warm-up and the median of up to 3 measured runs. "remote overhead" is per item over an in-process `pool` at the same total concurrency: (1/remote − 1/pool) in µs.',
    '',
    remoteTable(rows),
  ].join('\n')
}

function keptNotes(): string {
  try {
    const previous = readFileSync(OUTPUT, 'utf8')
    const at = previous.indexOf(KEEP_MARKER)
    return at >= 0 ? previous.slice(at + KEEP_MARKER.length).replace(/^\n+/, '') : ''
  } catch {
    return ''
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const started = performance.now()
  const log = (line: string): void => console.log(line)
  const wanted = (name: string): boolean => args.only === undefined || args.only.includes(name)
  log(`${machineDescription()}${args.quick ? ' — quick run' : ''}${(globalThis as { gc?: unknown }).gc ? '' : ' (no --expose-gc: runs are not preceded by a GC)'}`)

  const results: ScenarioResult[] = []
  for (const scenario of SCENARIOS) {
    if (!wanted(scenario.name)) continue
    log(`\n## ${scenario.name}: ${scenario.description}`)
    const result = await runScenario(scenario, { runs: args.runs, quick: args.quick, runTimeoutMs: args.quick ? 30_000 : 60_000, warmupShare: 0.1, gc: !args.quick, peerCapMs: args.quick ? Infinity : PEER_CAP_MS, log })
    results.push(result)
    log(scenarioTable(result))
    log(`(${(result.wallMs / 1000).toFixed(1)} s)`)
  }

  const depths: ScenarioResult[] = []
  if (wanted('depth')) {
    log(`\n## depth: ${DEPTHS.join(', ')} chained \`async x => x + 1\` stages`)
    for (const scenario of depthScenarios) {
      const result = await runScenario(scenario, { runs: args.runs, quick: args.quick, runTimeoutMs: args.quick ? 30_000 : 60_000, warmupShare: 0.1, gc: !args.quick, peerCapMs: Infinity, log })
      depths.push(result)
      log(`${scenario.name}: ${(result.wallMs / 1000).toFixed(1)} s`)
    }
    results.push(...depths)
    log(depthTable(depths))
  }

  let memory: MemoryRow[] = []
  if (wanted('memory')) {
    log('\n## memory')
    const impls = args.memoryPeers ? [...MEMORY_DEFAULT_IMPLS, ...MEMORY_PEER_IMPLS] : MEMORY_DEFAULT_IMPLS
    memory = await runMemory({ quick: args.quick, impls, timeoutMs: args.quick ? 30_000 : 120_000, log })
    log(memoryTable(memory))
  }

  const limits: LimitResults = await runLimits({ runs: args.runs, quick: args.quick, log, adaptive: wanted('adaptive'), rate: wanted('rate') })
  // remote (pipevine/bullmq) starts a redis-server and serving processes: in full runs, and in --quick only when asked for.
  let remoteRows: RemoteRow[] = []
  if (wanted('remote') && (!args.quick || args.only !== undefined)) {
    log('\n## remote: a stage on BullMQ over 1, 2, 4 serving processes, against raw BullMQ')
    remoteRows = await runRemote({ quick: args.quick, runs: Math.min(args.runs, 3), log })
    log(remoteTable(remoteRows))
  }

  const targets: TargetResult[] = evaluateTargets(results, memory)
  const totalMs = performance.now() - started
  log('\n## Targets (issue 5 point 4, issue 4)')
  log(targetsTable(targets))
  log(`\ntotal ${(totalMs / 1000).toFixed(1)} s`)

  if (args.write) {
    const sections = [header(args, totalMs), ...results.filter((r) => !depths.includes(r)).map((r) => scenarioSection(r, args.quick))]
    if (depths.length > 0) sections.push(depthSection(depths, args.quick))
    if (wanted('memory')) sections.push(memorySection(memory, args.quick))
    if (remoteRows.length > 0) sections.push(remoteSection(remoteRows))
    sections.push(...limitSections(limits, args.quick))
    sections.push(
      '## Targets',
      'From issue 5 (point 4) and issue 4, measured in this run. "× best peer" is pipevine\'s throughput over the fastest peer\'s (above 1: pipevine is ahead).\n\n' + targetsTable(targets),
    )
    sections.push(KEEP_MARKER + '\n\n' + keptNotes())
    writeFileSync(OUTPUT, sections.join('\n\n').trimEnd() + '\n')
    log(`wrote ${OUTPUT}`)
  }

  const problems = [
    ...results.flatMap((r) => r.rows.filter((row) => !row.verified && !row.unavailable).map((row) => `${r.name}/${row.name}: ${row.problem ?? 'not verified'}`)),
    ...memory.filter((row) => !row.result).map((row) => `memory/${row.impl}/${row.items}: ${row.problem}`),
  ]
  if (args.json) {
    const json = {
      quick: args.quick,
      totalMs,
      machine: machineDescription(),
      scenarios: results.map((r) => ({
        name: r.name,
        items: r.items,
        rows: r.rows.map((row) => ({ name: row.name, kind: row.kind, items: row.items, verified: row.verified, unavailable: row.unavailable ?? false, problem: row.problem, medianMs: row.median, runs: row.times.length })),
      })),
      memory: memory.map((row) => ({ impl: row.impl, items: row.items, verified: row.result !== undefined, problem: row.problem, peakRssMB: row.result?.peakRssMB })),
      targets,
      problems,
    }
    writeFileSync(args.json, JSON.stringify(json, null, 2))
  }
  if (problems.length > 0) {
    log(`\n${problems.length} implementation(s) failed verification:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    process.exitCode = 1
  }
}

try {
  await main()
} catch (error) {
  console.error(error)
  process.exitCode = 1
}
// A peer that timed out may have left timers or threads behind: don't wait for them.
setImmediate(() => process.exit())
