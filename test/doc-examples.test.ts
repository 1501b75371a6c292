// The API reference: every ```ts block under an `@example` tag in src/ type-checks
// against the package source, every public export has a doc comment with an
// example, and `npm run docs` (TypeDoc) builds without a warning. How the examples
// are checked: test/_doc-examples.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ts from 'typescript'
import { buildModules, compilerOptions, examplesProgram, extractExamples, publicNames, root, srcDir, typeCheck, type Example } from './_doc-examples.js'

// TypeDoc takes 6-10 s: start it now, alongside the type-check. It writes the site to a temp dir.
const siteDir = mkdtempSync(join(tmpdir(), 'pipevine-api-'))
const typedoc = runTypedoc()

/** Exports of src/index.ts declared in src/ whose doc comment lacks an `@example` (re-exports of fp-ts are documented there). */
function exportsWithoutExamples(): string[] {
  const program = examplesProgram ?? ts.createProgram([join(srcDir, 'index.ts')], compilerOptions())
  const checker = program.getTypeChecker()
  const index = checker.getSymbolAtLocation(program.getSourceFile(join(srcDir, 'index.ts'))!)!
  const missing: string[] = []
  for (const symbol of checker.getExportsOfModule(index)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
    const declarations = (target.declarations ?? []).filter((d) => d.getSourceFile().fileName.startsWith(srcDir + '/'))
    if (declarations.length === 0) continue
    const documented = declarations.some((d) => ts.getJSDocTags(d).some((tag) => tag.tagName.text === 'example'))
    if (!documented) missing.push(symbol.name)
  }
  return missing
}

function runTypedoc(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // The same config as `npm run docs`, the site written to a temp dir.
    const child = spawn(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--out', siteDir], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('close', (code) => resolve({ code, output }))
  })
}

test('every @example has a ```ts block, and every one type-checks against the package', () => {
  const { examples, bare } = extractExamples()
  assert.equal(bare, [], `@example tags without a \`\`\`ts block (unchecked): ${bare.join(', ')}`)
  assert.ok(examples.length >= 40, `only ${examples.length} examples found: is the extraction broken?`)
  const diagnostics = typeCheck(buildModules(examples, publicNames()))
  assert.equal(diagnostics.length, 0, `${diagnostics.length} type errors in doc examples:\n${diagnostics.join('\n')}`)
})

test('a wrong example is caught, and so is an example without a ```ts block', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipevine-doc-'))
  try {
    const path = join(dir, 'sample.ts')
    const fence = '`'.repeat(3)
    writeFileSync(path, [
      '/**', ' * Checked.', ' *', ' * @example', ` * ${fence}ts`, ' * pipe(ids, pool(fetchUser, 2))', ` * ${fence}`, ' */',
      'export const a = 1', '/**', ' * Not checked.', ' * @example', ' * pipe(ids)', ' * @since 1', ' */', 'export const b = 2', '',
    ].join('\n'))
    const { examples, bare } = extractExamples([path])
    assert.equal(examples.map((e) => [e.line, e.code]), [[6, 'pipe(ids, pool(fetchUser, 2))']])
    assert.equal(bare.length, 1)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const wrong: Example[] = [
    { file: 'wrong.ts', line: 1, code: "pipe(ids, pool(fetchUser, { concurency: 8 }))" },
    { file: 'wrong.ts', line: 20, code: 'const r = await run(pipe(ids, pool(fetchUser)))\nconsole.log(r.right.processed)' },
  ]
  const diagnostics = typeCheck(buildModules(wrong, publicNames()))
  assert.ok(diagnostics.some((d) => d.startsWith('wrong.ts:1') && d.includes('concurency')), diagnostics.join('\n'))
  assert.ok(diagnostics.some((d) => d.startsWith('wrong.ts:21') && d.includes("'right'")), diagnostics.join('\n'))
})

test('every public export declared in src has a doc comment with an @example', () => {
  assert.equal(exportsWithoutExamples(), [])
})

test('`npm run docs` (TypeDoc) builds with no warnings', async () => {
  const { code, output } = await typedoc
  assert.not.match(output, /does not have any documentation/)
  assert.not.match(output, /\[warning\]/)
  assert.equal(code, 0, output)
})

/** A generated API page, and the text of its signatures (tags stripped). */
function page(...candidates: string[]): { html: string; text: string } {
  const path = candidates.map((name) => join(siteDir, name)).find((p) => existsSync(p))
  assert.ok(path, `one of ${candidates.join(', ')} is generated`)
  const html = readFileSync(path!, 'utf8')
  const text = html.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/&quot;/g, '"')
  return { html, text }
}

// Types a reader needs no page for; any other name in a signature must link to its page.
const BUILT_IN_TYPES = new Set(['any', 'unknown', 'never', 'number', 'string', 'boolean', 'void', 'undefined', 'Awaited', 'Promise', 'ReadonlyArray', 'Array'])

test("the API reference: fork's page shows its real parameter types (each a link or a built-in), pipe's page one example", async () => {
  const { code, output } = await typedoc
  assert.equal(code, 0, output)
  const fork = page('functions/fork.html')
  const signature = /handlers:[^\n]*/.exec(fork.text)?.[0] ?? ''
  assert.ok(signature.length > 0, 'the handlers parameter is shown')
  assert.not.match(fork.text, /\[\s*Hs\s*\]|\[\.\.\.Hs\[\]\]/, 'no misprinted variadic tuple ([...Hs] shown as [Hs])')
  const unlinked = [...fork.html.matchAll(/<span class="tsd-signature-type">([^<]+)<\/span>/g)].map((m) => m[1]!).filter((name) => !BUILT_IN_TYPES.has(name))
  assert.equal(unlinked, [], 'types in fork\'s signature without a page (not exported from the package)')
  const pipe = page('functions/pipe.html', 'variables/pipe.html')
  const examples = [...pipe.html.matchAll(/<h4[^>]*>Example/g)].length
  assert.is(examples, 1, `pipe's page shows ${examples} examples`)
})

test.after(() => rmSync(siteDir, { recursive: true, force: true }))

test.run()
