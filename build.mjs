// Builds dist/esm (ESM) and dist/cjs (CommonJS) bundles with esbuild, and the
// .d.ts files with tsc (copied into dist/cjs, where a package.json marks them CommonJS).
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

const entryPoints = ['src/index.ts', 'src/exec/thread/thread-worker.ts'].filter((file) => {
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
})

rmSync('dist', { recursive: true, force: true })
const common = {
  entryPoints,
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  outbase: 'src',
}
await Promise.all([
  build({ ...common, format: 'esm', outdir: 'dist/esm', define: { 'import.meta.PIPEVINE_CJS': 'false' } }),
  build({
    ...common,
    format: 'cjs',
    outdir: 'dist/cjs',
    // import.meta.url has no CommonJS meaning; give the bundle the file's own URL.
    define: { 'import.meta.url': '__pipevine_url', 'import.meta.PIPEVINE_CJS': 'true' },
    banner: { js: 'const __pipevine_url = require("node:url").pathToFileURL(__filename).href;' },
  }),
])

// pipevine/bullmq: its own bundle, whose imports of the core's public pieces resolve to the built index
// (./index.js), so that a `remote` stage is the same pool, scope and error classes as the rest of the run.
const toIndex = new Set(['combinators/pool.ts', 'result/stage-error.ts', 'result/pipeline-error.ts', 'exec/context.ts'].map((file) => resolve('src', file)))
const sharedCore = {
  name: 'pipevine-shared-core',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts'))
      return toIndex.has(target) ? { path: './index.js', external: true } : undefined
    })
  },
}
const bullmqEntry = { ...common, entryPoints: ['src/bullmq.ts'], plugins: [sharedCore] }
await Promise.all([
  build({ ...bullmqEntry, format: 'esm', outdir: 'dist/esm' }),
  build({ ...bullmqEntry, format: 'cjs', outdir: 'dist/cjs' }),
])

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--emitDeclarationOnly', '--outDir', 'dist/esm'], { stdio: 'inherit' })
mkdirSync('dist/cjs', { recursive: true })
const copyDeclarations = (from, to) => {
  for (const name of readdirSync(from)) {
    const path = join(from, name)
    if (statSync(path).isDirectory()) copyDeclarations(path, join(to, name))
    else if (name.endsWith('.d.ts')) {
      mkdirSync(to, { recursive: true })
      cpSync(path, join(to, name))
    }
  }
}
copyDeclarations('dist/esm', 'dist/cjs')
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n')
console.log(`built dist/esm and dist/cjs (${entryPoints.length + 1} entry points)`)
