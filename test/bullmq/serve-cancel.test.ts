import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Queue, QueueEventsProducer } from 'bullmq'
import { CANCEL_EVENT, JOB_OPTIONS, cancelQueueName } from '../../src/exec/remote/protocol.js'
import { deferred, until, withTimeout } from '../_helpers.js'
import { queueName, redisForFile } from './_setup.js'

const file = redisForFile(test)

test('serve: a cancellation that arrives before its job starts in this process aborts the job as it starts (a job already active in Redis whose process() had not begun)', async () => {
  const queue = queueName('early-cancel')
  const firstStarted = deferred()
  const seenAborted: boolean[] = []
  const handle = await file.serve(
    queue,
    (n: number, ctx) => {
      if (n === 1) firstStarted.resolve()
      seenAborted.push(ctx.signal.aborted)
      // Runs until its job is cancelled: without the cancellation taking effect, it never ends.
      return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(n)))
    },
    { concurrency: 1 },
  )
  const jobs = new Queue(queue, { connection: file.server.connection })
  const cancels = new QueueEventsProducer(cancelQueueName(queue), { connection: file.server.connection })
  try {
    const job = (n: number) => ({ name: 'item', data: { i: n, a: 1, k: String(n), t: 0 }, opts: { ...JOB_OPTIONS, jobId: `job-${n}` } })
    await jobs.addBulk([job(1), job(2)])
    await withTimeout(firstStarted.promise, 5_000, 'job 1 started')
    // One event, job 2 (not started here: one job at a time) before job 1 (running): once job 1 is
    // aborted, this process has read job 2's cancellation too, before job 2 could start.
    await cancels.publishEvent({ eventName: CANCEL_EVENT, ids: 'job-2,job-1' })
    await until(() => handle.report().cancelled === 2 && handle.report().inFlight === 0, 'both jobs cancelled and ended')
    assert.is(handle.report().processed, 0)
    // Job 2's handler, if it ran at all, saw its signal already aborted.
    assert.equal(seenAborted.slice(1), seenAborted.length > 1 ? [true] : [])
  } finally {
    await Promise.all([jobs.close(), cancels.close()])
  }
})

test.run()
