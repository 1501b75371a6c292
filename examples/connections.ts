// Per-worker connections with `init` / `dispose`.
//
// Each of the pool's workers opens its own connection once, in `init` (its
// result seeds that worker's `ctx.state`), uses it for every item it handles,
// and closes it in `dispose` — which runs once per worker however the run ends:
// finished, failed, cancelled, or its consumer stopped early.
//
// The database here is a fake that counts open connections and refuses to let
// two workers share one, so the example shows exactly what happens.
//
// Run it: node --import tsx examples/connections.ts
import { fileURLToPath } from 'node:url'
import { isLeft, pipe, pool, provide, run, values, type StageContext } from '../src/index.js'

/** A fake database client: a connection serves one query at a time. */
export class FakeDb {
  private nextId = 1
  open = 0
  opened = 0
  readonly queriesPerConnection = new Map<number, number>()

  async connect(): Promise<Connection> {
    await new Promise((resolve) => setTimeout(resolve, 5)) // the handshake
    this.open++
    this.opened++
    return new Connection(this.nextId++, this)
  }
}

export class Connection {
  private busy = false
  closed = false
  constructor(
    readonly id: number,
    private readonly db: FakeDb,
  ) {}

  async insert(row: { id: number }): Promise<number> {
    if (this.closed) throw new Error(`connection ${this.id} is closed`)
    if (this.busy) throw new Error(`connection ${this.id} is already busy: two workers share it`)
    this.busy = true
    try {
      await new Promise((resolve) => setTimeout(resolve, 1))
      this.db.queriesPerConnection.set(this.id, (this.db.queriesPerConnection.get(this.id) ?? 0) + 1)
      return row.id
    } finally {
      this.busy = false
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.db.open--
  }
}

type Ctx = StageContext<{ db: FakeDb }>

/** The pool stage: three workers, three connections. */
export const save = pool(
  // The handler finds its worker's own connection in ctx.state.
  (row: { id: number }, { state }: Ctx) => (state.get('conn') as Connection).insert(row),
  {
    concurrency: 3,
    name: 'save',
    init: async ({ env }: Ctx) => ({ conn: await env.db.connect() }),
    dispose: async (state) => (state.get('conn') as Connection).close(),
  },
)

export async function main(rows = 60): Promise<{ opened: number; openAfter: number; perConnection: number[]; saved: number; openAfterBreak: number }> {
  const db = new FakeDb()
  const source = Array.from({ length: rows }, (_, id) => ({ id }))

  // A full run: each worker opens one connection, and all are closed at the end.
  const result = await run(pipe(source, save), { env: { db } })
  if (isLeft(result)) throw result.left
  const openAfter = db.open

  // A consumer that stops early: `dispose` still runs for every worker that started.
  const db2 = new FakeDb()
  const saved: number[] = []
  for await (const id of pipe(source, save, values(), provide({ db: db2 }))) {
    saved.push(id)
    if (saved.length === 5) break
  }

  return {
    opened: db.opened,
    openAfter,
    perConnection: [...db.queriesPerConnection.values()],
    saved: result.right.processed,
    openAfterBreak: db2.open,
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await main()
  console.log(`saved ${r.saved} rows over ${r.opened} connections (queries per connection: ${r.perConnection.join(', ')})`)
  console.log(`connections left open: ${r.openAfter} after the run, ${r.openAfterBreak} after a consumer broke off early`)
}
