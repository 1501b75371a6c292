// Runs the benchmark suite's quick mode (`npm run bench -- --quick`, i.e.
// `node --expose-gc bench/run.mjs --quick`) in a child
// process and checks that it completes and that every implementation's output
// was verified. It checks that the suite works, not how fast anything is.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BOUND_MS = 120_000
const SCENARIOS = ['overhead', 'io-pool', 'io-pool-ordered', 'io-pool-cheap', 'retry-storm', 'fork-merge', 'cpu-pool', 'cpu-small', 'many-runs', 'cpu-skew', 'depth-1', 'depth-3', 'depth-5', 'depth-10', 'depth-20']

interface BenchJson {
  quick: boolean
  scenarios: { name: string; items: number; rows: { name: string; kind: string; verified: boolean; unavailable: boolean; problem?: string; runs: number }[] }[]
  memory: { impl: string; items: number; verified: boolean; problem?: string; peakRssMB?: number }[]
  problems: string[]
}

function runQuick(jsonPath: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--expose-gc', 'bench/run.mjs', '--quick', `--json=${jsonPath}`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), BOUND_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, output, ms: Date.now() - started })
    })
  })
}

test('the quick benchmark suite completes and every implementation output is verified', async () => {
  const jsonPath = join(tmpdir(), `pipevine-bench-quick-${process.pid}.json`)
  rmSync(jsonPath, { force: true })
  try {
    const { code, signal, output, ms } = await runQuick(jsonPath)
    assert.is(signal, null, `the quick suite was killed after ${ms} ms (bound ${BOUND_MS} ms):\n${output.slice(-3000)}`)
    assert.is(code, 0, `the quick suite exited with ${code}:\n${output.slice(-3000)}`)
    assert.ok(existsSync(jsonPath), 'the quick suite wrote no results')
    const result = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchJson
    assert.is(result.quick, true)
    assert.equal(result.problems, [], 'implementations failed verification')
    assert.equal(
      result.scenarios.map((s) => s.name),
      SCENARIOS,
    )
    for (const scenario of result.scenarios) {
      assert.ok(scenario.rows.length >= 4, `${scenario.name}: too few implementations`)
      for (const row of scenario.rows) {
        if (row.unavailable) {
          assert.match(row.problem ?? '', /^n\/a/, `${scenario.name}/${row.name}: unavailable without an n/a reason`)
          continue
        }
        assert.ok(row.verified, `${scenario.name}/${row.name}: ${row.problem ?? 'not verified'}`)
        assert.ok(row.runs >= 2, `${scenario.name}/${row.name}: ${row.runs} measured runs`)
      }
      const pipevine = scenario.rows.find((row) => row.name === 'pipevine')
      assert.ok(pipevine, `${scenario.name}: no pipevine row`)
      assert.ok(pipevine.verified, `${scenario.name}: pipevine not verified (${pipevine.problem})`)
      assert.ok(scenario.rows.some((row) => row.kind === 'baseline' && row.verified), `${scenario.name}: no verified baseline`)
    }
    assert.ok(result.memory.length >= 4, 'memory: too few rows')
    for (const row of result.memory) {
      assert.ok(row.verified, `memory/${row.impl}/${row.items}: ${row.problem}`)
      assert.ok((row.peakRssMB ?? 0) > 0, `memory/${row.impl}/${row.items}: no peak RSS`)
    }
  } finally {
    rmSync(jsonPath, { force: true })
  }
})

test.run()
