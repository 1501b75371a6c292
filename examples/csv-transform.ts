// CSV in, JSON lines out: a Node Readable file stream through a pipeline into a
// Writable, with backpressure end to end.
//
//   fs.createReadStream → readline (an async iterable of lines) → from()
//   → IxJS skip(1), filter(…)   the header and blank lines go
//   → pool(parse)        a malformed row becomes a Left (the row and the reason travel with it)
//   → deadLetter(…)      rejected rows are written to a second file; good ones flow on
//   → pool(toJsonLine)
//   → toReadable(…)      a Node Readable again, for stream.pipeline
//   → fs.createWriteStream
//
// If the disk is slow, the Writable's backpressure reaches back through every
// stage to the file being read: nothing piles up in memory.
//
// Run it: node --import tsx examples/csv-transform.ts [input.csv] [output.jsonl]
import { createReadStream, createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { filter, skip } from 'ix/Ix.asynciterable.operators'
import { deadLetter, from, pipe, pool, toReadable, type StageError } from '../src/index.js'

interface Order {
  id: number
  customer: string
  sku: string
  quantity: number
  unitPrice: number
  total: number
}

/** One CSV line to an Order; throws (so the row becomes a Left) when a field is missing or not a number. */
function parseOrder(line: string): Order {
  const [id, customer, sku, quantity, unitPrice] = line.split(',')
  const number = (name: string, text: string | undefined): number => {
    const value = Number(text)
    if (text === undefined || text.trim() === '' || !Number.isFinite(value)) throw new Error(`${name} is not a number: ${JSON.stringify(text ?? '')}`)
    return value
  }
  const order = {
    id: number('id', id),
    customer: customer ?? '',
    sku: sku ?? '',
    quantity: number('quantity', quantity),
    unitPrice: number('unit_price', unitPrice),
  }
  return { ...order, total: Math.round(order.quantity * order.unitPrice * 100) / 100 }
}

export async function main(
  input = fileURLToPath(new URL('./data/orders.csv', import.meta.url)),
  output = join(tmpdir(), 'pipevine-orders.jsonl'),
  rejectedOutput = join(tmpdir(), 'pipevine-orders.rejected.jsonl'),
): Promise<{ output: string; rejectedOutput: string; written: number; rejected: number }> {
  // Every line of the file, read lazily. A Flow is an IxJS AsyncIterableX, so
  // IxJS operators chain on it: drop the header and any blank lines.
  const rows = from(createInterface({ input: createReadStream(input), crlfDelay: Infinity })).pipe(
    skip(1),
    filter((line: string) => line.trim() !== ''),
  )

  const rejects = createWriteStream(rejectedOutput)
  let written = 0
  let rejected = 0

  const jsonLines = pipe(
    rows,
    pool(parseOrder, { ordered: true }),
    // A Writable is a fine dead letter: each StageError becomes one JSON line there.
    deadLetter((error: StageError) => {
      rejected++
      rejects.write(JSON.stringify({ row: error.item, reason: (error.cause as Error).message }) + '\n')
    }),
    pool(
      (order: Order) => {
        written++
        return JSON.stringify(order) + '\n'
      },
      { ordered: true, name: 'toJsonLine' },
    ),
  )

  // A byte stream of strings (objectMode: false), so the file stream takes it as is.
  await pipeline(toReadable(jsonLines, { objectMode: false }), createWriteStream(output))
  await new Promise<void>((resolve, reject) => rejects.end((error?: Error | null) => (error ? reject(error) : resolve())))
  return { output, rejectedOutput, written, rejected }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { output, rejectedOutput, written, rejected } = await main(...(process.argv.slice(2) as []))
  console.log(`wrote ${written} orders to ${output}`)
  console.log(`rejected ${rejected} rows, see ${rejectedOutput}`)
}
