import { pipe, pool, values } from '../../src/index.js'
const N = 500_000
const items = Array.from({ length: N }, (_, i) => i)
const f = async (x: number) => x + 1
for (let r = 0; r < 4; r++) {
  let t = performance.now(); let s = 0
  for await (const v of pipe(items, pool(f), pool(f), pool(f), values())) s += v as number
  const a = performance.now() - t
  t = performance.now(); let s2 = 0
  async function* st(src: AsyncIterable<number> | Iterable<number>) { for await (const x of src) yield await f(x) }
  for await (const v of st(st(st(items)))) s2 += v
  const b = performance.now() - t
  t = performance.now(); let s3 = 0
  for (const x of items) s3 += await f(await f(await f(x)))
  const c = performance.now() - t
  console.log({ pv: a.toFixed(0), gen: b.toFixed(0), loop: c.toFixed(0), ok: s === s2 && s2 === s3 })
}
