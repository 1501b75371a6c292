import * as src from '../../src/index.js'
// @ts-ignore
import * as dist from '../../dist/esm/index.js'
const url = new URL('../workers/cpu-task.mjs', import.meta.url)
for (const [name, pv] of [['src', src], ['dist', dist], ['src', src], ['dist', dist]] as const) {
  const t = performance.now(); let s = 0
  for await (const v of pv.pipe([1, 2], pv.pool(pv.thread(url, 'light'), 2), pv.values())) s += v as number
  console.log(name, (performance.now() - t).toFixed(0), 'ms')
}
