import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fork, mix, pipe, pool, run } from '../../src/index.js'
import { range, right, stage, typeError } from '../_helpers.js'

const h = async (n: number): Promise<number> => n

test('concurrency { min, max, initial }: a TypeError at composition time naming the stage and the argument', () => {
  typeError(() => pool(h, { concurrency: { min: 0, max: 4 } }), 'pool', 'concurrency.min', '0')
  typeError(() => pool(h, { concurrency: { min: 1.5, max: 4 } }), 'pool', 'concurrency.min')
  typeError(() => pool(h, { concurrency: { min: 4, max: 2 } }), 'pool', 'concurrency.max', '>= 4')
  typeError(() => pool(h, { concurrency: { min: 1, max: Infinity } }), 'pool', 'concurrency.max')
  typeError(() => pool(h, { concurrency: { min: 1 } as never }), 'pool', 'concurrency.max', 'undefined')
  typeError(() => pool(h, { concurrency: { min: 2, max: 8, initial: 1 } }), 'pool', 'concurrency.initial')
  typeError(() => pool(h, { concurrency: { min: 2, max: 8, initial: 9 } }), 'pool', 'concurrency.initial', '[2, 8]')
  typeError(() => pool(h, { concurrency: { min: 1, max: 8, step: 2 } as never }), 'pool', 'step')
  typeError(() => pool(h, { concurrency: { min: 1, max: 8 }, fork: (r: unknown[]) => r }), 'pool', 'concurrency', 'fork')
  typeError(() => fork([h, h], (r) => r, { concurrency: { min: 3, max: 1 } }), 'fork', 'concurrency.max')
  typeError(() => mix([h, h], { concurrency: { min: 1, max: 3 } }), 'mix', 'concurrency.max', 'at most 2')
  typeError(() => mix([h, h], { concurrency: 2 as never }), 'mix', 'concurrency')
})

test('rate { perSecond, burst }: a TypeError at composition time naming the stage and the argument', () => {
  typeError(() => pool(h, { rate: 10 as never }), 'pool', 'rate')
  typeError(() => pool(h, { rate: {} as never }), 'pool', 'rate.perSecond', 'undefined')
  typeError(() => pool(h, { rate: { perSecond: 0 } }), 'pool', 'rate.perSecond', '0')
  typeError(() => pool(h, { rate: { perSecond: -1 } }), 'pool', 'rate.perSecond')
  typeError(() => pool(h, { rate: { perSecond: NaN } }), 'pool', 'rate.perSecond')
  typeError(() => pool(h, { rate: { perSecond: Infinity } }), 'pool', 'rate.perSecond')
  typeError(() => pool(h, { rate: { perSecond: 5, burst: 0 } }), 'pool', 'rate.burst')
  typeError(() => pool(h, { rate: { perSecond: 5, burst: 1.5 } }), 'pool', 'rate.burst')
  typeError(() => pool(h, { rate: { perSecond: 5, every: 2 } as never }), 'pool', 'every')
  typeError(() => mix([h], { rate: { perSecond: '5' as never } }), 'mix', 'rate.perSecond')
  typeError(() => fork([h], (r) => r, { rate: null as never }), 'fork', 'rate')
})

test('adaptive concurrency: the report shows the limit, starting at `initial` (default `min`)', async () => {
  const report = right(await run(pipe(range(3), pool(h, { name: 'a', concurrency: { min: 3, max: 9 } }), pool(h, { name: 'b', concurrency: { min: 1, max: 9, initial: 5 } }))))
  assert.is(stage(report, 'a').concurrency, 3)
  assert.is(stage(report, 'b').concurrency, 5)
  const mixed = right(await run(pipe(range(3), mix([h, h, h], { name: 'm', concurrency: { min: 1, max: 3, initial: 2 } }))))
  assert.is(stage(mixed, 'm').concurrency, 2)
  assert.is(stage(mixed, 'm').processed, 3)
})

test.run()
