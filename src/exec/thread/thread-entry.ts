/*
 * How a worker thread starts: the entry file it runs, the TypeScript loader it
 * needs (the main thread's, when the program runs under tsx), and, before any
 * thread starts, whether the module it will load can be loaded at all.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ThreadError, type ThreadEntry, type ThreadTarget } from './thread-job.js'
import { TS_LOADER_ADVICE, explainLoad } from './thread-load.js'

let entry: ThreadEntry | undefined
let tsEntry: ThreadEntry | undefined

const TS_MODULE = /\.[cm]?tsx?$/

/**
 * How to start a thread that loads `target`. The entry is the file next to this
 * module: `thread-worker.ts` when running from the sources (under tsx),
 * `exec/thread/thread-worker.js` next to a built bundle. Node 20 does not pass
 * the main thread's loader on to worker threads: when the program runs under
 * tsx and the module is TypeScript (or pipevine runs from its sources), the
 * thread registers tsx first, so that it loads the module as the main thread
 * would. Other threads start without it (it costs each thread's start).
 */
export function threadEntry(target?: ThreadTarget): ThreadEntry {
  entry ??= findEntry()
  if (entry.tsx !== undefined || target?.module === undefined || !TS_MODULE.test(target.module)) return entry
  if (tsEntry === undefined) {
    const tsx = mainThreadTsx()
    tsEntry = tsx === undefined ? entry : { url: entry.url, tsx }
  }
  return tsEntry
}

function findEntry(): ThreadEntry {
  const here = import.meta.url
  for (const candidate of ['./thread-worker.ts', './exec/thread/thread-worker.js', './thread-worker.js']) {
    const url = new URL(candidate, here)
    if (!existsSync(url)) continue
    const tsx = candidate.endsWith('.ts') ? (mainThreadTsx() ?? tsxApi(here)) : undefined
    return tsx === undefined ? { url } : { url, tsx }
  }
  throw new Error(`pipevine: the worker-thread entry (exec/thread/thread-worker.js) is missing next to ${here}`)
}

const PRELOAD_FLAGS = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r'])

/** tsx's registration API when the main thread runs under tsx (`tsx app.ts`, `node --import tsx`, `NODE_OPTIONS`, `--require tsx/cjs`). */
function mainThreadTsx(): string | undefined {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const eq = arg.indexOf('=')
    const flag = eq > 0 ? arg.slice(0, eq) : arg
    if (!PRELOAD_FLAGS.has(flag)) continue
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i]
    if (value === undefined) continue
    if (value === 'tsx' || value.startsWith('tsx/')) return tsxApi(pathToFileURL(join(process.cwd(), 'noop.js')).href)
    // tsx's CLI passes its own files: …/node_modules/tsx/dist/loader.mjs
    if (/[\\/]tsx[\\/]dist[\\/]/.test(value)) return tsxApi(value.startsWith('file:') ? value : pathToFileURL(value).href)
  }
  return undefined
}

function tsxApi(from: string): string | undefined {
  try {
    const api = createRequire(from).resolve('tsx/esm/api')
    const esm = api.replace(/\.cjs$/, '.mjs')
    return pathToFileURL(existsSync(esm) ? esm : api).href
  } catch {
    return undefined
  }
}

/**
 * Why the module can't load, known before any thread starts: no file at that
 * URL, or a TypeScript file with no loader to read it. Undefined when it may load.
 */
export function preflight(target: ThreadTarget, stage: string): ThreadError | undefined {
  const module = target.module
  if (module === undefined || !module.startsWith('file:')) return undefined
  let path: string
  try {
    path = fileURLToPath(module)
  } catch {
    return undefined
  }
  let cause: unknown
  if (!existsSync(path)) cause = explainLoad({ code: 'ERR_MODULE_NOT_FOUND', message: `Cannot find module '${path}'` }, module)
  else if (TS_MODULE.test(path) && threadEntry(target).tsx === undefined) {
    cause = Object.assign(new Error(`${path} is TypeScript, and this process has no TypeScript loader. ${TS_LOADER_ADVICE}`), { code: 'ERR_UNKNOWN_FILE_EXTENSION' })
  }
  if (cause === undefined) return undefined
  return new ThreadError('load', `stage "${stage}": worker thread could not start: ${(cause as Error).message}`, { cause })
}
