// HTTP fetch with retries and exponential backoff.
//
// A local node:http server (127.0.0.1 only) stands in for a flaky API: every
// third item answers 503 twice before it succeeds, and one item is a 404. The
// pipeline fetches with eight requests in flight, retries only the errors that
// can go away (5xx, network errors), and keeps the 404 as a `Left` — one bad item
// never stops the others.
//
// Run it: node --import tsx examples/http-retry.ts
// (In your own project, import from 'pipevine' instead of '../src/index.js'.)
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { collect, isLeft, pipe, pool, retry, type StageContext } from '../src/index.js'

/** An HTTP status that is not 2xx. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
  ) {
    super(`HTTP ${status} for ${url}`)
  }
}

/** 5xx and network failures may go away on their own; 4xx will not. */
const transient = (error: unknown): boolean => !(error instanceof HttpError) || error.status >= 500

interface Item {
  id: number
  name: string
}

/** The flaky server: /items/:id, 503 on the first two requests of every third id, 404 for id 13. */
export async function startFlakyServer(): Promise<{ base: string; requests: () => number; close: () => Promise<void>; server: Server }> {
  const hits = new Map<number, number>()
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    const id = Number(/^\/items\/(\d+)$/.exec(req.url ?? '')?.[1] ?? NaN)
    const seen = (hits.get(id) ?? 0) + 1
    hits.set(id, seen)
    if (Number.isNaN(id) || id === 13) {
      res.writeHead(404).end()
    } else if (id % 3 === 0 && seen <= 2) {
      res.writeHead(503, { 'retry-after': '0' }).end()
    } else {
      // a little latency, so that concurrency matters
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, name: `item ${id}` })), 5)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    base: `http://127.0.0.1:${port}`,
    requests: () => requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export async function main(count = 30): Promise<{ ok: Item[]; failed: { id: unknown; reason: string; attempts: number }[]; retried: number; requests: number }> {
  const api = await startFlakyServer()
  try {
    // The handler: one GET, aborted by ctx.signal (per-attempt timeout, cancellation).
    async function fetchItem(id: number, { signal, env }: StageContext<{ base: string }>): Promise<Item> {
      const url = `${env.base}/items/${id}`
      const res = await fetch(url, { signal })
      if (!res.ok) throw new HttpError(res.status, url)
      return (await res.json()) as Item
    }

    const ids = Array.from({ length: count }, (_, i) => i + 1)
    const items = pipe(
      ids,
      pool(fetchItem, { concurrency: 8, timeout: 2_000 }),
      // Failed items wait out 20 ms, 40 ms, 80 ms (± jitter) while the others keep flowing.
      retry({ retries: 3, backoff: 'exponential', baseMs: 20, jitter: true, when: transient }),
    )

    const result = await collect(items, { env: { base: api.base } })
    if (isLeft(result)) throw result.left
    const { values, errors, report } = result.right
    return {
      ok: values.sort((a, b) => a.id - b.id),
      failed: errors.map((e) => ({ id: e.item, reason: String((e.cause as Error).message), attempts: e.attempts })),
      retried: report.stages.find((s) => s.name === 'fetchItem')?.retried ?? 0,
      requests: api.requests(),
    }
  } finally {
    await api.close()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ok, failed, retried, requests } = await main()
  console.log(`fetched ${ok.length} items with ${requests} requests (${retried} retries)`)
  for (const f of failed) console.log(`failed: item ${f.id} after ${f.attempts} attempt(s): ${f.reason}`)
}
