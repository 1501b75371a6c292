// One command for the whole recipe on one machine: a local redis-server, N worker processes, and the
// main program, all stopped at the end.
//   node --import tsx examples/scale-out/start.ts [workers=3] [documents=1000]
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { main } from './main.js'

const workers = Number(process.argv[2] ?? 3)
const count = Number(process.argv[3] ?? 1000)
const children: ChildProcess[] = []
const stopAll = (): void => void children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'))
process.once('exit', stopAll)

const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number }
    probe.close(() => resolve(port))
  })
})
// With a password, as a Redis reachable by other machines should have (the workers and main read it as a remote one would).
const password = randomBytes(12).toString('hex')
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
children.push(redis)
redis.once('error', (error) => {
  console.error(`could not start redis-server (${error.message}): install it (apt-get install redis-server) or run main.ts against your own Redis`)
  process.exit(1)
})
await new Promise<void>((resolve) => redis.stdout!.on('data', (chunk: Buffer) => String(chunk).includes('Ready to accept connections') && resolve()))

const env = { ...process.env, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDIS_PASSWORD: password }
const workerFile = fileURLToPath(new URL('./worker.ts', import.meta.url))
await Promise.all(
  Array.from({ length: workers }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', workerFile], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.push(child)
    return new Promise((resolve) => child.once('message', resolve))
  }),
)

const summary = await main({ host: '127.0.0.1', port, password }, count)
console.log(JSON.stringify(summary))
// graceful stop: workers finish and report, then Redis goes
await Promise.all(children.slice(1).map((child) => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))))
redis.kill('SIGKILL')
