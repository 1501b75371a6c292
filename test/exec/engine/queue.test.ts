import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Queue } from '../../../src/exec/engine/queue.js'

const contents = <T>(q: Queue<T>): T[] => Array.from({ length: q.length }, (_, i) => q.at(i))

test('Queue.removeAt takes an item out of the middle, across the wrap-around, keeping the order of the rest', () => {
  const q = new Queue<number>(8)
  for (let i = 0; i < 6; i++) q.push(i)
  for (let i = 0; i < 5; i++) q.shift() // the head is now at slot 5: pushes wrap to slots 0, 1, …
  for (let i = 6; i < 12; i++) q.push(i)
  assert.equal(contents(q), [5, 6, 7, 8, 9, 10, 11])
  assert.is(q.removeAt(3), 8)
  assert.equal(contents(q), [5, 6, 7, 9, 10, 11])
  assert.is(q.removeAt(0), 5)
  assert.is(q.removeAt(q.length - 1), 11)
  assert.equal(contents(q), [6, 7, 9, 10])
  q.push(12)
  assert.equal(contents(q), [6, 7, 9, 10, 12])
  assert.is(q.shift(), 6)
})

test.run()
