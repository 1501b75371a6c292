// The rate scenario's run order (bench/rate.ts balancedOrders): over n rounds every
// implementation runs once in each position and right after each other one exactly
// once, so no implementation is always the first run or always the one after another.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { balancedOrders } from '../../bench/rate.js'

for (const n of [2, 4, 6]) {
  test(`balanced orders of ${n}: each implementation once per round and once in every position`, () => {
    const orders = balancedOrders(n)
    assert.is(orders.length, n)
    for (const order of orders) assert.equal(order.slice().sort((a, b) => a - b), [...Array(n).keys()])
    for (let position = 0; position < n; position++) assert.equal(orders.map((o) => o[position]).sort((a, b) => a - b), [...Array(n).keys()])
  })

  test(`balanced orders of ${n}: each implementation runs right after each other one exactly once`, () => {
    const follows = new Map<string, number>()
    for (const order of balancedOrders(n)) for (let k = 1; k < n; k++) follows.set(`${order[k - 1]}>${order[k]}`, (follows.get(`${order[k - 1]}>${order[k]}`) ?? 0) + 1)
    assert.is(follows.size, n * (n - 1))
    assert.ok([...follows.values()].every((count) => count === 1))
  })
}

test.run()
