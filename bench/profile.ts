/**
 * Profiles one implementation of one scenario with `node --cpu-prof` and prints
 * the functions with the most self time (all of them, and pipevine's own).
 *
 *   node --import tsx bench/profile.ts overhead [pipevine] [--runs=10] [--top=25]
 *
 * The child runs the implementation `runs` times at the scenario's full size; the
 * .cpuprofile stays in .bench-tmp/ (git-ignored) for a closer look in DevTools.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const OUT_DIR = join(ROOT, '.bench-tmp', 'profiles')

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface SelfTime {
  fn: string
  where: string
  ms: number
  share: number
}

/**
 * Self time per function (by name and file), largest first, counting only the
 * samples inside `window` (µs on the profile's clock) when given, so module
 * loading before the runs doesn't count.
 */
export function selfTimes(profile: CpuProfile, window?: { start: number; end: number }): SelfTime[] {
  const frames = new Map<number, CallFrame>()
  for (const node of profile.nodes) frames.set(node.id, node.callFrame)
  const byKey = new Map<string, SelfTime>()
  let total = 0
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0
    if (window && (at < window.start || at > window.end)) return
    const us = profile.timeDeltas[i + 1] ?? 0
    total += us
    const frame = frames.get(id)!
    const file = frame.url.startsWith('file://') ? relative(ROOT, fileURLToPath(frame.url)) : frame.url
    // tsx's transformed modules report line 0 for everything: name the file alone then.
    const where = file && frame.lineNumber > 0 ? `${file}:${frame.lineNumber + 1}` : file
    const fn = frame.functionName || '(anonymous)'
    const key = `${fn}@${where}`
    const entry = byKey.get(key) ?? { fn, where, ms: 0, share: 0 }
    entry.ms += us / 1000
    byKey.set(key, entry)
  })
  const list = [...byKey.values()].sort((a, b) => b.ms - a.ms)
  for (const entry of list) entry.share = entry.ms / (total / 1000)
  return list
}

function table(rows: SelfTime[]): string {
  return ['| self ms | share | function | where |', '| ---: | ---: | --- | --- |', ...rows.map((r) => `| ${r.ms.toFixed(1)} | ${(r.share * 100).toFixed(1)}% | ${r.fn} | ${r.where} |`)].join('\n')
}

async function child(scenarioName: string, implName: string, runs: number, windowFile: string): Promise<void> {
  const { overhead, ioPoolUnordered, ioPoolOrdered, ioPoolCheap, retryStorm, forkMerge } = await import('./scenarios.js')
  const { depthScenarios } = await import('./depth.js')
  const scenario = [overhead, ioPoolUnordered, ioPoolOrdered, ioPoolCheap, retryStorm, forkMerge, ...depthScenarios].find((s) => s.name === scenarioName)
  if (!scenario) throw new Error(`unknown scenario ${scenarioName}`)
  const impl = scenario.impls.find((i) => i.name === implName)
  if (!impl) throw new Error(`${scenarioName} has no implementation ${implName}`)
  // One unprofiled-window run to warm up, then the window (CLOCK_MONOTONIC µs, the profile's clock) around the others.
  await impl.run(scenario.items)
  const start = Number(process.hrtime.bigint() / 1000n)
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    const check = await impl.run(scenario.items)
    console.log(`run ${i + 1}: ${(performance.now() - started).toFixed(0)} ms, ${check.count} items`)
  }
  const end = Number(process.hrtime.bigint() / 1000n)
  writeFileSync(windowFile, JSON.stringify({ start, end }))
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const [scenario = 'overhead', impl = 'pipevine'] = args.filter((a) => !a.startsWith('--'))
  const runs = Number(flag('runs') ?? 10)
  // The profiled child (never spawns a child of its own).
  const dir = join(OUT_DIR, `${scenario}-${impl}`.replace(/[^\w.-]+/g, '_'))
  const windowFile = join(dir, 'window.json')
  if (args.includes('--child')) return child(scenario, impl, runs, windowFile)

  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const result = spawnSync(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${dir}`, '--import', 'tsx', fileURLToPath(import.meta.url), scenario, impl, `--runs=${runs}`, '--child'],
    { cwd: ROOT, stdio: 'inherit' },
  )
  if (result.status !== 0) throw new Error(`profiled child exited with ${result.status}`)
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error('no .cpuprofile written')
  const window = JSON.parse(readFileSync(windowFile, 'utf8')) as { start: number; end: number }
  const times = selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, window)
  const top = Number(flag('top') ?? 25)
  console.log(`\n${scenario} / ${impl}: top self time during the ${runs} profiled runs (${join(relative(ROOT, dir), file)})\n`)
  console.log(table(times.slice(0, top)))
  console.log(`\n${scenario} / ${impl}: top self time in pipevine's src/\n`)
  console.log(table(times.filter((t) => t.where.startsWith('src/')).slice(0, top)))
  const inSrc = times.filter((t) => t.where.startsWith('src/')).reduce((sum, t) => sum + t.share, 0)
  console.log(`\nsrc/ self time in all: ${(inSrc * 100).toFixed(1)}% of samples`)
}

await main()
