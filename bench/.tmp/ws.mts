import { Worker } from 'node:worker_threads'
const url = new URL('../workers/hand-worker.mjs', import.meta.url)
for (const execArgv of [undefined, []]) for (let r = 0; r < 3; r++) {
  const t = performance.now()
  const ws = [0, 1].map(() => new Worker(url, { workerData: { fn: 'light' }, ...(execArgv ? { execArgv } : {}) }))
  await Promise.all(ws.map((w) => new Promise<void>((res) => { w.once('message', () => res()); w.postMessage(1) })))
  const a = performance.now() - t
  await Promise.all(ws.map((w) => w.terminate()))
  console.log(execArgv ? 'no tsx' : 'tsx', a.toFixed(0), (performance.now() - t).toFixed(0))
}
