import { heavy, light } from '../workers/cpu-task.mjs'
for (let r = 0; r < 3; r++) {
let t = performance.now(); let s = 0
for (let i = 0; i < 400; i++) s += heavy(i)
const a = (performance.now() - t) / 400
t = performance.now()
for (let i = 0; i < 50000; i++) s += light(i)
const b = (performance.now() - t) / 50000 * 1000
console.log(a.toFixed(2), 'ms', b.toFixed(1), 'us', s)
}
