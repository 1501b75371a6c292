import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { connect, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

/*
 * A real redis-server for the pipevine/bullmq tests, and the serving processes
 * they start. Every child is tracked and SIGKILLed when the test process exits,
 * however it exits (a failed assertion included), so no redis-server or serving
 * process outlives a test file.
 */

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server'
const children = new Set<ChildProcess>()

function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}
process.once('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (killAll(), process.exit(1)))
process.once('uncaughtException', (error) => {
  killAll()
  console.error(error)
  process.exit(1)
})

/** Fails (never skips) when there is no redis-server to run the tests on. */
export function requireRedisServer(command = REDIS_SERVER): void {
  const probe = spawnSync(command, ['--version'], { encoding: 'utf8' })
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `the pipevine/bullmq tests need a real Redis, and \`${command}\` could not be run (${probe.error?.message ?? `exit ${probe.status}`}). ` +
        'Install it (Debian/Ubuntu: apt-get install redis-server; .ci/run does this on CI) or set REDIS_SERVER to its path.',
    )
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface RedisServer {
  readonly port: number
  readonly connection: { host: string; port: number }
  /** Ends the server (SIGKILL: no save, as `--save ""` keeps nothing anyway) and waits for its exit. */
  kill(): Promise<void>
  /** Starts the server again on the same port, empty. */
  restart(): Promise<void>
  stop(): Promise<void>
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  // Even a SIGKILLed test process (test/run.mjs's timeout) leaves no redis-server: a watchdog ends it within a second.
  spawn('sh', ['-c', 'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$1" 2>/dev/null', String(process.pid), String(child.pid)], {
    stdio: 'ignore',
    detached: true,
  }).unref()
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} did not start within 5 s: ${output}`)), 5_000)
    const poll = (): void => {
      // Ready when it answers PING (its log line is silenced at loglevel warning).
      createConnectionQuiet(port, () => {
        clearTimeout(timer)
        resolve()
      }, () => {
        if (child.exitCode !== null) {
          clearTimeout(timer)
          reject(new Error(`redis-server exited (${child.exitCode}) on port ${port}: ${output}`))
        } else setTimeout(poll, 10)
      })
    }
    child.stdout!.on('data', (chunk) => (output += chunk))
    child.stderr!.on('data', (chunk) => (output += chunk))
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    poll()
  })
  return child
}

function createConnectionQuiet(port: number, ok: () => void, retry: () => void): void {
  const socket = connect(port, '127.0.0.1')
  let answered = false
  socket.once('connect', () => socket.write('PING\r\n'))
  socket.once('data', (data) => {
    answered = true
    socket.destroy()
    if (String(data).startsWith('+PONG')) ok()
    else retry()
  })
  socket.once('error', () => {
    socket.destroy()
    if (!answered) retry()
  })
}

/** Fails clearly when bullmq can't load its Redis client (ioredis, an optional peer of bullmq's own). */
export function requireRedisClient(): void {
  const fromBullmq = createRequire(createRequire(import.meta.url).resolve('bullmq'))
  try {
    fromBullmq.resolve('ioredis')
  } catch {
    throw new Error('the pipevine/bullmq tests need ioredis, the Redis client bullmq loads (an optional peer of bullmq): npm install --save-dev ioredis')
  }
}

/** Starts a redis-server on a free port of 127.0.0.1, persisting nothing. */
export async function startRedis(): Promise<RedisServer> {
  requireRedisServer()
  requireRedisClient()
  let port = await freePort()
  let child: ChildProcess
  for (let tries = 0; ; tries++) {
    try {
      child = await launch(port)
      break
    } catch (error) {
      if (tries >= 3) throw error
      port = await freePort()
    }
  }
  const server: RedisServer = {
    port,
    connection: { host: '127.0.0.1', port },
    async kill() {
      child.kill('SIGKILL')
      await exited(child)
    },
    async restart() {
      child = await launch(port)
    },
    async stop() {
      child.kill('SIGKILL')
      await exited(child)
    },
  }
  return server
}

const SERVE_FIXTURE = fileURLToPath(new URL('../fixtures/bullmq-serve.ts', import.meta.url))

export interface ServingProcess {
  readonly child: ChildProcess
  /** Resolves once its worker is ready to take jobs. */
  readonly ready: Promise<void>
  /** Messages it sent (`{ started: key }` when a job starts, …). */
  readonly messages: Array<Record<string, unknown>>
  /** Resolves on the first message that `match` accepts. */
  next(match: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  kill(signal?: NodeJS.Signals): Promise<void>
  exited: Promise<void>
}

/** Starts test/fixtures/bullmq-serve.ts in a child process serving `queue` with the handler `kind`. */
export function startServing(port: number, queue: string, kind: string, options: Record<string, unknown> = {}): ServingProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVE_FIXTURE], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, PV_PORT: String(port), PV_QUEUE: queue, PV_KIND: kind, PV_OPTIONS: JSON.stringify(options) },
  })
  children.add(child)
  const exitedPromise = exited(child)
  void exitedPromise.then(() => children.delete(child))
  const messages: Array<Record<string, unknown>> = []
  const waiters: Array<{ match: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }> = []
  child.on('message', (message: Record<string, unknown>) => {
    messages.push(message)
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.match(message)) waiters.splice(i, 1)[0]!.resolve(message)
    }
  })
  const next = (match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    const seen = messages.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      waiters.push({ match, resolve })
      void exitedPromise.then(() => reject(new Error(`serving process exited (${child.exitCode ?? child.signalCode}) before the awaited message`)))
    })
  }
  return {
    child,
    messages,
    next,
    ready: next((m) => m.ready === true).then(() => {}),
    exited: exitedPromise,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exitedPromise
    },
  }
}
