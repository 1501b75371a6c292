// README.md's code, checked as a user would meet it. The convention (README → "Contributing"):
//   ```ts      a fragment: type-checked as a module, `from 'pipevine'` mapped to src/; names it
//              does not import or define come from the package's exports and the placeholders
//              in test/_doc-examples.ts PRELUDE (`fetchUser`, `db`, …);
//   ```ts run  a complete program: type-checked exactly as written (no placeholders, no implicit
//              imports), then run with tsx and must exit 0 within RUN_TIMEOUT_MS;
//   ```sh, ```text  shown, not checked. Any other fence fails the test, so nothing slips through.
// Every failure names the README line of the block (README.md:LINE).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildModules, extractMarkdown, publicNames, root, srcDir, typeCheck, type Example } from './_doc-examples.js'

const RUN_TIMEOUT_MS = 10_000
const RUN_PARALLEL = 2
// By URL: the programs run in a temp dir, where the name `tsx` resolves to nothing.
const tsx = import.meta.resolve('tsx')
const readme = join(root, 'README.md')
const work = mkdtempSync(join(tmpdir(), 'pipevine-readme-'))
writeFileSync(join(work, 'package.json'), '{ "type": "module" }\n')

/** Runs a complete program with tsx; resolves with a failure message, or undefined when it exits 0 in time. */
function runProgram(example: Example, n: number): Promise<string | undefined> {
  const file = join(work, `program${n}.ts`)
  writeFileSync(file, example.code.replace(/(\bfrom\s+|import\()(['"])pipevine\2/g, `$1'${join(srcDir, 'index.js')}'`) + '\n')
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, file], { cwd: work, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const where = `${example.file}:${example.line} (\`\`\`ts run)`
      if (signal) resolve(`${where} did not exit within ${RUN_TIMEOUT_MS} ms:\n${output}`)
      else resolve(code === 0 ? undefined : `${where} exited with code ${code}:\n${output}`)
    })
  })
}

async function runPrograms(examples: Example[]): Promise<string[]> {
  const programs = examples.filter((example) => example.program)
  const failures: string[] = []
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < programs.length) {
      const n = next++
      const failure = await runProgram(programs[n]!, n)
      if (failure) failures.push(failure)
    }
  }
  await Promise.all(Array.from({ length: RUN_PARALLEL }, lane))
  return failures
}

const { examples, others } = extractMarkdown(readme)
// Start the programs now: they run while the type-check below works.
const ran = runPrograms(examples)

test('README: every fence is ```ts, ```ts run, ```sh or ```text (no unchecked code)', () => {
  assert.equal(others, [], `fences that are not checked and not marked sh/text:\n${others.join('\n')}`)
  assert.ok(examples.length >= 8, `only ${examples.length} ts blocks found: is the extraction broken?`)
  assert.ok(examples.filter((e) => e.program).length >= 2, 'the quick start and at least one more block are complete programs')
})

test('README: every ```ts and ```ts run block type-checks against the package (errors name the README line)', () => {
  const diagnostics = typeCheck(buildModules(examples, publicNames()))
  assert.equal(diagnostics.length, 0, `${diagnostics.length} type errors in README blocks:\n${diagnostics.join('\n')}`)
})

test('README: every ```ts run block runs to completion', async () => {
  const failures = await ran
  assert.equal(failures.length, 0, failures.join('\n\n'))
})

test('README: opens with the two commands a newcomer runs, then what it is, install, quick start, tour; contributor sections last', () => {
  const text = readFileSync(readme, 'utf8')
  const firstFence = /```sh\n([\s\S]*?)```/.exec(text)?.[1] ?? ''
  assert.match(firstFence, /^npm ci && npm run demo\b/m)
  assert.match(firstFence, /^npm ci && npm test\b/m)
  assert.ok(text.indexOf('```sh') < text.indexOf('\n## '), 'the commands come before the first section')
  const headings = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]!)
  const at = (pattern: RegExp): number => {
    const i = headings.findIndex((h) => pattern.test(h))
    assert.ok(i >= 0, `a section matching ${pattern} (sections: ${headings.join(' | ')})`)
    return i
  }
  const order = [/^What it is/, /^Install/, /^Quick start/, /^A tour/].map(at)
  assert.equal(order, [...order].sort((a, b) => a - b), `user sections in order: ${headings.join(' | ')}`)
  const contributing = at(/^Contributing/)
  assert.is(contributing, headings.length - 1, 'the contributor section is the last one')
})

test('the checks catch a README block that does not compile, or a program that fails or uses a placeholder, and name its line', async () => {
  const fence = '`'.repeat(3)
  const path = join(work, 'SAMPLE.md')
  writeFileSync(path, [
    '# sample', '', `${fence}sh`, 'npm test', fence, '', `${fence}ts`, "pipe(ids, pool(fetchUser, { concurency: 8 }))", fence, '',
    `${fence}ts run`, "import { run, pipe, pool } from 'pipevine'", 'await run(pipe(ids, pool(fetchUser)))', fence, '',
    `${fence}ts run`, "import { collect, pipe, pool, isRight } from 'pipevine'", 'const got = await collect(pipe([1, 2], pool((n: number) => n * 2)))', "if (!isRight(got) || got.right.values.length !== 3) throw new Error('wrong count')", fence, '',
    `${fence}js`, 'unchecked()', fence, '',
  ].join('\n'))
  const sample = extractMarkdown(path)
  assert.equal(sample.others.length, 1)
  assert.match(sample.others[0]!, /SAMPLE\.md:22: ```js$/)
  assert.equal(sample.examples.map((e) => [e.line, e.program]), [[8, false], [12, true], [17, true]])
  const diagnostics = typeCheck(buildModules(sample.examples, publicNames()))
  const file = sample.examples[0]!.file
  assert.ok(diagnostics.some((d) => d.startsWith(`${file}:8:`) && d.includes('concurency')), diagnostics.join('\n'))
  assert.ok(diagnostics.some((d) => d.startsWith(`${file}:13:`) && d.includes("'ids'")), `a program gets no placeholders:\n${diagnostics.join('\n')}`)
  const failures = await runPrograms(sample.examples.slice(2))
  assert.equal(failures.length, 1)
  assert.match(failures[0]!, `${file}:17 (\`\`\`ts run) exited with code 1`)
  assert.match(failures[0]!, 'wrong count')
})

test.after(() => rmSync(work, { recursive: true, force: true }))

test.run()
