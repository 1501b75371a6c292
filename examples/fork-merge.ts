// Fork-merge enrichment: every user goes to three lookups at once (profile,
// orders, risk score), and `merge` combines their answers into one record.
//
// The services come from the run's environment (`ctx.env`), so the same
// pipeline runs against fakes here and real clients in production. The risk
// service fails now and then: the branch gets a retry in place (`retries: 1`);
// an item whose branch still fails becomes a `Left` naming the stage, and the
// others are unaffected.
//
// Run it: node --import tsx examples/fork-merge.ts
import { fileURLToPath } from 'node:url'
import { collect, fork, isLeft, pipe, pool, type StageContext } from '../src/index.js'

interface Profile {
  id: number
  name: string
}
interface Services {
  profiles: { get(id: number, signal: AbortSignal): Promise<Profile> }
  orders: { countFor(id: number, signal: AbortSignal): Promise<number> }
  risk: { score(id: number, signal: AbortSignal): Promise<number> }
}
type Ctx = StageContext<Services>

export interface Enriched {
  id: number
  name: string
  orders: number
  risk: number
  tier: 'gold' | 'silver' | 'bronze'
}

/** Waits `ms`, or rejects as soon as `signal` aborts (and leaves no listener behind). */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })

/** In-memory stand-ins with a little latency. The risk service fails once for every 4th id, and always for id 7. */
export function fakeServices(): Services & { riskCalls: () => number } {
  const riskCalls = new Map<number, number>()
  return {
    profiles: { get: async (id, signal) => (await sleep(3, signal), { id, name: `user-${id}` }) },
    orders: { countFor: async (id, signal) => (await sleep(5, signal), (id * 7) % 13) },
    risk: {
      async score(id, signal) {
        await sleep(2, signal)
        const n = (riskCalls.get(id) ?? 0) + 1
        riskCalls.set(id, n)
        if (id === 7 || (id % 4 === 0 && n === 1)) throw new Error(`risk service unavailable for ${id}`)
        return (id * 37) % 100
      },
    },
    riskCalls: () => [...riskCalls.values()].reduce((a, b) => a + b, 0),
  }
}

// The three branches: plain handlers reading their service from ctx.env.
const profile = (id: number, { env, signal }: Ctx) => env.profiles.get(id, signal)
const orders = (id: number, { env, signal }: Ctx) => env.orders.countFor(id, signal)
const risk = (id: number, { env, signal }: Ctx) => env.risk.score(id, signal)

/** Gets the branch results in handler order. */
function merge([p, n, r]: [Profile, number, number]): Enriched {
  const tier = n >= 8 && r < 50 ? 'gold' : n >= 4 ? 'silver' : 'bronze'
  return { id: p.id, name: p.name, orders: n, risk: r, tier }
}

export async function main(count = 20): Promise<{ enriched: Enriched[]; failed: { id: unknown; stage: string; reason: string }[] }> {
  const users = pipe(
    Array.from({ length: count }, (_, i) => i + 1),
    // Four users at a time (each fans out to three calls), one retry per branch in place.
    fork([profile, orders, risk] as const, merge, { concurrency: 4, retries: 1, name: 'enrich' }),
    pool((user: Enriched) => ({ ...user, name: user.name.toUpperCase() }), { name: 'format' }),
  )
  const result = await collect(users, { env: fakeServices() })
  if (isLeft(result)) throw result.left
  return {
    enriched: result.right.values.sort((a, b) => a.id - b.id),
    failed: result.right.errors.map((e) => ({ id: e.item, stage: e.stage, reason: (e.cause as Error).message })),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { enriched, failed } = await main()
  for (const u of enriched) console.log(`${String(u.id).padStart(3)}  ${u.name.padEnd(8)}  orders ${String(u.orders).padStart(2)}  risk ${String(u.risk).padStart(2)}  ${u.tier}`)
  for (const f of failed) console.log(`failed: user ${f.id} in ${f.stage}: ${f.reason}`)
}
