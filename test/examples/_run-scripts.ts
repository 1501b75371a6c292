// Runs example files as scripts, one after the other, in this one process (one
// tsx start-up instead of one per example). For each, `process.argv` is set to
// exactly `[node, its path]` — as under `node --import tsx examples/x.ts` with no
// arguments — so its `if (process.argv[1] === fileURLToPath(import.meta.url))`
// entry block runs on import. Each script's output is preceded by a `### path`
// marker line. The process must then exit by itself: a script that leaves a
// handle open hangs it.
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'

const files = process.argv.slice(2).map((file) => resolve(file))
const node = process.argv[0]!
for (const path of files) {
  console.log(`### ${path}`)
  process.argv = [node, path]
  try {
    await import(pathToFileURL(path).href)
  } catch (error) {
    console.log(`### ${path} FAILED: ${(error as Error)?.stack ?? String(error)}`)
    process.exitCode = 1
  }
}
