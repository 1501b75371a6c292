import { runScenario, checkOf, scenarioTable } from '../harness.js'
const r = await runScenario({
  name: 'x', description: 'd', items: 100, quickItems: 10, ordered: true, baseline: 'good',
  expected: (n) => checkOf(Array.from({ length: n }, (_, i) => i)),
  impls: [
    { name: 'good', kind: 'baseline', run: async (n) => checkOf(Array.from({ length: n }, (_, i) => i)) },
    { name: 'drops', kind: 'peer', run: async (n) => checkOf(Array.from({ length: n - 1 }, (_, i) => i)) },
    { name: 'reorders', kind: 'peer', run: async (n) => checkOf(Array.from({ length: n }, (_, i) => n - 1 - i)) },
    { name: 'throws', kind: 'peer', run: async () => { throw new Error('boom') } },
    { name: 'hangs', kind: 'peer', run: () => new Promise(() => {}) },
  ],
}, { runs: 5, quick: true, runTimeoutMs: 200, warmupShare: 0.25, gc: false, log: console.log })
console.log(scenarioTable(r))
