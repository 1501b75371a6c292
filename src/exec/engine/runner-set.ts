import type { StageStats } from '../stats.js'
import type { Runner, WorkerConfig, WorkerOwner } from './runner.js'
import type { FixedSpec } from './worker-spec.js'
import { disposeAll } from './worker-life.js'
import { Queue } from './queue.js'

/**
 * A stage's runners, created as items need them: a new one only when none is
 * free, so a stage has no more runners than the most items it ever had at once
 * (and one). Single-item runners wait in `idle`; multi-item runners (worker
 * threads that batch, see Runner.limit) take items while below their limit.
 */
export class RunnerSet {
  /** Runners by index. */
  private readonly all: Runner[] = []
  private created = 0
  /** The lowest index that may still be free in `all`. */
  private nextIndex = 0
  /**
   * Free single-item runners, longest idle first: a new item goes to the runner
   * that has waited longest, so items spread over the runners that exist.
   */
  readonly idle = new Queue<Runner>(4)
  readonly multi: Runner[] = []
  /** Single-item runners whose `init` failed. */
  broken = 0

  constructor(
    private readonly spec: FixedSpec,
    private readonly config: WorkerConfig,
    private readonly owner: WorkerOwner,
    private readonly stats: StageStats,
  ) {}

  get size(): number {
    return this.created
  }

  /** Creates runner `index`; the caller gives it an item at once. */
  create(index: number): Runner {
    const runner = this.spec.createRunner(this.config, this.owner, index, this.spec.handlerIndexOf(index))
    this.all[index] = runner
    this.stats.workers = ++this.created
    if (runner.limit !== undefined) this.multi.push(runner)
    return runner
  }

  /** A new runner at the lowest free index (the caller checked that the stage may have one more). */
  grow(): Runner {
    while (this.all[this.nextIndex] !== undefined) this.nextIndex++
    return this.create(this.nextIndex++)
  }

  /** A runner that can take an item now: an idle one, else the least loaded multi-item runner below its limit. */
  free(): Runner | undefined {
    if (this.idle.length > 0) return this.idle.shift()
    if (this.multi.length === 0) return this.created < this.spec.slots ? this.grow() : undefined
    return this.freeMulti()
  }

  private freeMulti(): Runner | undefined {
    let best: Runner | undefined
    for (const runner of this.multi) {
      if (runner.broken !== undefined || runner.held! >= runner.limit!()) continue
      if (best === undefined || runner.held! < best.held!) best = runner
    }
    if ((best === undefined || best.held! > 0) && this.created < this.spec.slots) return this.grow()
    return best
  }

  /** A single-item runner is done with its item. */
  putBack(runner: Runner): void {
    if (runner.held === undefined) {
      if (runner.broken === undefined) this.idle.push(runner)
      else this.broken++
    }
  }

  /*
   * Multi-item runners hold up to `limit()` items each instead of one, and that
   * limit grows and shrinks with how long items take. The stage then holds at
   * most buffer + single-item runners + the sum of those limits: still every item
   * it holds is queued (at most `buffer`), in a runner, waiting for order or output.
   */
  capacity(cap: number): number {
    cap -= this.multi.length
    for (const runner of this.multi) if (runner.broken === undefined) cap += runner.limit!()
    return cap
  }

  allBroken(): boolean {
    let broken = this.broken
    for (const runner of this.multi) if (runner.broken !== undefined) broken++
    return broken === this.spec.slots
  }

  /** Why the runners can take nothing (the first runner's `init` error). */
  get brokenCause(): unknown {
    return this.all[0]?.broken
  }

  /** A free runner of handler `handlerIndex` (any free runner where the stage has one handler). */
  freeFor(handlerIndex: number): Runner | undefined {
    if (this.spec.handlerIndexOf(this.spec.slots - 1) === 0) return this.free()
    for (let i = 0; i < this.idle.length; i++) if (this.idle.at(i).handlerIndex === handlerIndex) return this.idle.removeAt(i)
    for (const runner of this.multi) if (runner.handlerIndex === handlerIndex && runner.broken === undefined && runner.held! < runner.limit!()) return runner
    // A stage of several handlers (mix) has few runners: that handler's may not exist yet.
    for (let i = 0; i < this.spec.slots; i++) if (this.all[i] === undefined && this.spec.handlerIndexOf(i) === handlerIndex) return this.create(i)
    return undefined
  }

  /** Why no runner of handler `handlerIndex` can ever run an item (their `init` failed), else undefined. */
  deadFor(handlerIndex: number): unknown {
    if (this.spec.handlerIndexOf(this.spec.slots - 1) === 0) return this.allBroken() ? (this.all[0]?.broken ?? new Error('init failed')) : undefined
    for (const runner of this.all) if (runner !== undefined && runner.handlerIndex === handlerIndex) return runner.broken
    return undefined
  }

  /** The stage stopped: every busy runner abandons its items. */
  retireBusy(): void {
    for (const runner of this.all) if (runner !== undefined && runner.busy) runner.retire()
  }

  dispose(): Promise<void> | undefined {
    return disposeAll(this.all.filter((r) => r !== undefined))
  }
}
