import { WorkerState, type StageContext } from '../context.js'
import type { Logger } from '../logger.js'
import { messageOf } from '../../result/describe.js'

/** The context a served handler gets: a stage context plus the item's stable key. */
export interface RemoteContext<R = unknown> extends StageContext<R> {
  /**
   * The item's key in its run, the same every time that attempt runs again (a
   * serving process died, Redis restarted): execution is at-least-once, so a
   * handler with side effects can use it to do them once.
   */
  readonly key: string
}

/** One attempt's context (a fresh one per job: jobs of one slot never overlap). */
export class JobContext implements RemoteContext<unknown> {
  constructor(
    readonly env: unknown,
    readonly state: WorkerState,
    readonly signal: AbortSignal,
    readonly attempt: number,
    readonly worker: number,
    readonly stage: string,
    readonly log: Logger,
    readonly key: string,
    readonly index: number,
  ) {}
}

/** One of a serving process's `concurrency` slots: its own state, `init` once, `dispose` at close. */
export class Slot {
  readonly state = new WorkerState()
  /** Settles when `init` has run; rejected when it failed (the next job tries again). */
  private ready: Promise<void> | undefined
  initialized = false

  constructor(readonly index: number) {}

  prepare(init: ((ctx: StageContext<unknown>) => unknown) | undefined, ctx: () => StageContext<unknown>): Promise<void> | undefined {
    if (init === undefined || this.initialized) return undefined
    if (this.ready !== undefined) return this.ready
    const ready = (async () => {
      WorkerState.seed(this.state, await init(ctx()))
      this.initialized = true
    })()
    this.ready = ready
    // A failure is that job's; the slot's next job tries again.
    ready.catch(() => {
      if (this.ready === ready) this.ready = undefined
    })
    return ready
  }
}

/** A serving process's slots: a job takes a free one and gives it back when it ends. */
export class Slots {
  private readonly free: Slot[] = []
  readonly all: Slot[] = []

  constructor(size: number) {
    for (let i = size - 1; i >= 0; i--) this.free.push(new Slot(i))
    this.all = [...this.free].reverse()
  }

  take(): Slot {
    // BullMQ runs at most `concurrency` jobs at once, so there is always one.
    return this.free.pop() ?? new Slot(this.all.length)
  }

  give(slot: Slot): void {
    this.free.push(slot)
  }

  /** Runs `dispose` for every slot whose `init` ran (or every used slot without `init`). */
  async dispose(dispose: ((state: WorkerState, ctx: StageContext<unknown>) => unknown) | undefined, ctx: (slot: Slot) => StageContext<unknown>, log: Logger, stage: string): Promise<void> {
    if (dispose === undefined) return
    await Promise.all(
      this.all.map(async (slot) => {
        if (!slot.initialized) return
        try {
          await dispose(slot.state, ctx(slot))
        } catch (error) {
          log.error(`[${stage}] dispose failed for worker ${slot.index}: ${messageOf(error)}`)
        }
      }),
    )
  }
}
