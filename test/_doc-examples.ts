// Code examples checked by the tests: the ```ts blocks of `@example` tags in src/ (see
// doc-examples.test.ts) and of README.md (readme-examples.test.ts).
//
// The examples are checked in memory: each becomes a virtual module under
// <root>/.doc-examples/ (never written to disk). A fragment imports every export of
// src/index.ts it doesn't import itself and gets the placeholder declarations it
// doesn't bind (`ids`, `fetchUser`, `db`, … in PRELUDE); its body goes inside an
// async function, so `await`, `for await` and `return` work; its `import` lines are
// hoisted to the top, and a block with `export` lines (a thread module) is left at
// the top level. A complete program (README's ```ts run) is checked exactly as
// written. `from 'pipevine'` resolves to src/index.ts in both.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'

export const root = resolve(import.meta.dirname, '..')
export const srcDir = join(root, 'src')
const virtualDir = join(root, '.doc-examples')

export interface Example {
  /** Where the block's first line of code is, e.g. `src/exec/run.ts:47` or `README.md:30`. */
  readonly file: string
  readonly line: number
  readonly code: string
  /** A complete program (a README ```ts run block): checked as written, no placeholders, no implicit imports; then run. */
  readonly program?: boolean
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : []
    })
}

/** Every ```ts block in an `@example` tag, and every `@example` tag that has none. */
export function extractExamples(paths = sourceFiles(srcDir)): { examples: Example[]; bare: string[] } {
  const examples: Example[] = []
  const bare: string[] = []
  for (const path of paths) {
    const text = readFileSync(path, 'utf8')
    const file = relative(root, path)
    for (const match of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
      const startLine = text.slice(0, match.index).split('\n').length
      const lines = match[0].split('\n').map((line) => line.replace(/^\s*\/?\*\*? ?/, '').replace(/\s*\*\/$/, ''))
      let inExample = false
      let fenced = false
      let found = false
      let block: string[] | undefined
      let blockLine = 0
      lines.forEach((line, i) => {
        if (block !== undefined) {
          if (line.trim() === '```') {
            examples.push({ file, line: blockLine, code: block.join('\n') })
            block = undefined
          } else block.push(line)
          return
        }
        if (/^\s*@\w+/.test(line)) {
          if (inExample && !found) bare.push(`${file}:${startLine + i}`)
          inExample = /^\s*@example\b/.test(line)
          found = false
        }
        fenced = inExample && /^\s*```ts\s*$/.test(line)
        if (fenced) {
          found = true
          block = []
          blockLine = startLine + i + 1
        }
      })
      if (inExample && !found) bare.push(`${file}:${startLine}`)
    }
  }
  return { examples, bare }
}

/** The names src/index.ts exports. */
export function publicNames(): string[] {
  const index = readFileSync(join(srcDir, 'index.ts'), 'utf8')
  const names: string[] = []
  for (const [, list] of index.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const spec of list!.split(',')) {
      const name = spec.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim()
      if (name) names.push(name)
    }
  }
  return names
}

/**
 * The placeholders the examples use, each one line. A line is left out of an
 * example that imports a name it declares. Loosely typed on purpose: what is
 * checked is the use of pipevine's API, not these stand-ins.
 */
export const PRELUDE: readonly string[] = [
  "import * as fs from 'node:fs'",
  "import * as readline from 'node:readline'",
  "import { createHash } from 'node:crypto'",
  "import { readFileSync } from 'node:fs'",
  "import { appendFile } from 'node:fs/promises'",
  "import * as E from 'fp-ts/lib/Either.js'",
  "import * as TE from 'fp-ts/lib/TaskEither.js'",
  "import * as RTE from 'fp-ts/lib/ReaderTaskEither.js'",
  'interface User { id: number; name: string; age: number; active: boolean }',
  'interface Row { id: string; [field: string]: unknown }',
  'type Id = string',
  'interface Db { put(value: unknown, options?: { signal?: AbortSignal }): Promise<Id> }',
  'declare const db: Db',
  'declare const ids: number[]',
  'declare const urls: string[]',
  'declare const files: string[]',
  'interface Image { key: string; bytes: Uint8Array }',
  'interface Thumb { key: string; bytes: Uint8Array }',
  'declare const images: Image[]',
  'declare function makeThumb(image: Image): Promise<Thumb>',
  'declare function saveThumb(thumb: Thumb): Promise<void>',
  'declare const rows: Row[]',
  'declare const users: User[]',
  'declare const numbers: number[]',
  'declare const items: unknown[]',
  'declare const lines: AsyncIterable<string>',
  'declare const docs: AsyncIterable<string>',
  'declare const jobs: unknown[]',
  'declare const events: AsyncIterable<unknown>',
  'declare const pipeline: Flow<unknown>',
  'declare const controller: AbortController',
  'declare const poison: string',
  'declare const file: string',
  'declare const url: URL',
  'declare const dbUrl: string',
  'declare function fetchUser(id: number, ctx: StageContext): Promise<User>',
  'declare function fetchPage(url: string, ctx: StageContext): Promise<string>',
  'declare function store(user: User): Promise<void>',
  'declare function save(row: Row): Promise<void>',
  'declare function load(id: number, ctx: StageContext<{ db: Db }>): Promise<Row>',
  'declare function loadRow(id: number): Promise<Row>',
  'declare function enrich(row: Row): Promise<Row>',
  'declare function enrichMany(rows: Row[]): Promise<Row[]>',
  'declare function insertMany(rows: Row[]): Promise<void>',
  'declare function writeMany(events: unknown[]): Promise<void>',
  'declare function readFile(path: string): Promise<Buffer>',
  'declare function hash(data: Buffer): string',
  'declare function readLines(path: string): AsyncIterable<string>',
  'declare function parse(line: string): Row',
  'declare function query(sql: string, ctx: StageContext): Promise<unknown>',
  'declare function connect(url: string): Promise<{ close(): Promise<void> }>',
  'declare function makeClient(): { get(url: string): Promise<string> }',
  'declare function mayFail(n: number): Promise<number>',
  'declare function isTransient(error: unknown): boolean',
  'declare function score(item: unknown): Promise<number>',
  'declare function sentiment(doc: string): Promise<{ sentiment: number }>',
  'declare function keywords(doc: string): Promise<{ keywords: string[] }>',
  'declare function viaPrimaryApi(job: unknown): Promise<string>',
  'declare function viaFallbackApi(job: unknown): Promise<string>',
  'declare function fill(out: Float64Array): void',
]

/** Names a line binds: `declare const x`, `import * as x`, `import { a, b }`, `interface X`. */
function boundNames(line: string): string[] {
  const braces = /^import\s+(?:type\s+)?\{([^}]*)\}/.exec(line)
  if (braces) return braces[1]!.split(',').map((s) => s.trim().split(/\s+as\s+/).pop()!.replace(/^type\s+/, '')).filter(Boolean)
  const single = /^(?:import\s+\*\s+as|import|declare\s+(?:const|function)|interface|type)\s+(\w+)/.exec(line)
  return single ? [single[1]!] : []
}

export interface VirtualFile {
  readonly text: string
  readonly example?: Example
  /** The generated line (0-based) of the example's first line. */
  readonly offset?: number
}

export function buildModules(examples: Example[], exported: string[]): Map<string, VirtualFile> {
  const files = new Map<string, VirtualFile>()
  examples.forEach((example, n) => {
    // `from 'pipevine'` is the package's source, as a user's import would be its build.
    const codeLines = example.code
      .split('\n')
      .map((line) => line.replace(/(\bfrom\s+|import\()(['"])pipevine(\/bullmq)?\2/, (_, head: string, _q: string, sub?: string) => `${head}'${join(srcDir, sub ? 'bullmq.js' : 'index.js')}'`))
    if (example.program) {
      files.set(join(virtualDir, `example${n}.ts`), { text: [`// ${example.file}:${example.line}`, ...codeLines].join('\n') + '\n', example, offset: 1 })
      return
    }
    const imports = codeLines.filter((line) => /^import\s/.test(line))
    const body = codeLines.map((line) => (/^import\s/.test(line) ? '' : line))
    const own = new Set(imports.flatMap(boundNames))
    const prelude = PRELUDE.filter((line) => !boundNames(line).some((name) => own.has(name)))
    const api = exported.filter((name) => !own.has(name))
    const topLevel = codeLines.some((line) => /^export\s/.test(line))
    const head = [`// ${example.file}:${example.line}`, ...imports, `import { ${api.join(', ')} } from '${join(srcDir, 'index.js')}'`, ...prelude]
    const lines = topLevel ? [...head, ...body] : [...head, `export async function example${n}() {`, ...body, '}']
    files.set(join(virtualDir, `example${n}.ts`), { text: lines.join('\n') + '\n', example, offset: head.length + (topLevel ? 0 : 1) })
    // A module an example names by relative path (`typeof import('./hash.js').default`): a stand-in.
    for (const [, name] of example.code.matchAll(/['"]\.\/([\w-]+)\.js['"]/g)) {
      files.set(join(virtualDir, `${name}.ts`), { text: 'declare const value: any\nexport default value\n' })
    }
  })
  return files
}

export function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile)
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  // As a user would write them: plain named imports of types are fine.
  return { ...options, noEmit: true, declaration: false, verbatimModuleSyntax: false, isolatedModules: false, rootDir: undefined, outDir: undefined }
}

/** The examples' program: it holds src/ too, for the export check below. */
export let examplesProgram: ts.Program | undefined

export function typeCheck(files: Map<string, VirtualFile>): string[] {
  const options = compilerOptions()
  const host = ts.createCompilerHost(options)
  const { fileExists, readFile, getSourceFile, directoryExists } = host
  host.fileExists = (path) => files.has(path) || fileExists.call(host, path)
  host.readFile = (path) => files.get(path)?.text ?? readFile.call(host, path)
  host.directoryExists = (path) => path === virtualDir || (directoryExists?.call(host, path) ?? ts.sys.directoryExists(path))
  host.getSourceFile = (path, language, onError, create) => {
    const file = files.get(path)
    return file ? ts.createSourceFile(path, file.text, language) : getSourceFile.call(host, path, language, onError, create)
  }
  const roots = [...files.keys()].filter((path) => files.get(path)!.example !== undefined)
  const program = ts.createProgram(roots, options, host, examplesProgram)
  examplesProgram ??= program
  // Only the examples' own diagnostics: src/ itself is checked by `npm run typecheck`.
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...roots.flatMap((path) => {
      const source = program.getSourceFile(path)!
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    }),
  ]
  return diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    const file = diagnostic.file && files.get(diagnostic.file.fileName)
    if (!diagnostic.file || diagnostic.start === undefined) return message
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    if (file?.example === undefined) return `${relative(root, diagnostic.file.fileName)}:${line + 1}: ${message}`
    const where = line >= file.offset! ? `${file.example.file}:${file.example.line + line - file.offset!}` : `${file.example.file}:${file.example.line} (prelude)`
    return `${where}: ${message}\n    ${diagnostic.file.text.split('\n')[line]}`
  })
}


/** README fences that are not TypeScript: shown, not checked. */
export const UNCHECKED_FENCES: readonly string[] = ['sh', 'text']

/**
 * The fenced blocks of a Markdown file: ```ts blocks are fragments, ```ts run blocks
 * complete programs; `others` lists every fence whose info string is neither those nor
 * an unchecked language (so an unchecked block can't slip in as ```js or ```typescript).
 */
export function extractMarkdown(path: string): { examples: Example[]; others: string[] } {
  const file = relative(root, path)
  const lines = readFileSync(path, 'utf8').split('\n')
  const examples: Example[] = []
  const others: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(.*)$/.exec(lines[i]!)
    if (!open) continue
    const [, indent, info] = open as unknown as [string, string, string]
    const close = lines.findIndex((line, j) => j > i && line.trimEnd() === `${indent}\`\`\``)
    if (close < 0) {
      others.push(`${file}:${i + 1}: a fence that is never closed`)
      break
    }
    const code = lines.slice(i + 1, close).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line)).join('\n')
    const kind = info.trim()
    if (kind === 'ts' || kind === 'ts run') examples.push({ file, line: i + 2, code, program: kind === 'ts run' })
    else if (!UNCHECKED_FENCES.includes(kind)) others.push(`${file}:${i + 1}: \`\`\`${kind}`)
    i = close
  }
  return { examples, others }
}
