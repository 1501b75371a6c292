// Worker of the hand-rolled pools: runs `workerData.fn` from cpu-task.mjs on each
// number it is sent (one-item messages) or on each number of an array (batched
// messages), and posts the result(s) back in the same shape.
import { parentPort, workerData } from 'node:worker_threads'
import * as tasks from './cpu-task.mjs'

const fn = tasks[workerData.fn]
parentPort.on('message', (message) => {
  if (typeof message === 'number') return parentPort.postMessage(fn(message))
  const out = new Array(message.length)
  for (let i = 0; i < message.length; i++) out[i] = fn(message[i])
  parentPort.postMessage(out)
})
