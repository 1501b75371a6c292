import type { StageStats } from '../stats.js'
import type { LimiterFactory } from './limiter.js'
import type { AttemptSettings, Runner, WorkerConfig, WorkerOwner } from './runner.js'

/** How one pool/mix/fork stage is built. */
export interface StageSpec extends AttemptSettings {
  readonly name: string
  readonly buffer: number
  readonly ordered: boolean
  /** How many runners (workers, or fork slots) the stage may have (`Infinity`: no limit); they are created as items need them. */
  readonly slots: number
  /** Runner `index`; `handlerIndex` picks the handler where a stage has several (mix). */
  createRunner(config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner
  /** Which handler runner `index` runs. */
  handlerIndexOf(index: number): number
  /** Makes the stage's limiter when the stage starts (see Limiter); absent: none. */
  readonly createLimiter?: LimiterFactory | undefined
}

/**
 * The spec a node works from, copied into one class shape: specs arrive as
 * object literals and spreads, whose hidden classes a full GC can drop between
 * runs, and optimised code that saw the old ones would deoptimise every run.
 */
export class FixedSpec implements StageSpec {
  readonly name: string
  readonly buffer: number
  readonly ordered: boolean
  readonly retries: number
  readonly timeout: number
  readonly init: StageSpec['init']
  readonly dispose: StageSpec['dispose']
  readonly slots: number
  readonly createRunner: StageSpec['createRunner']
  readonly handlerIndexOf: StageSpec['handlerIndexOf']
  readonly createLimiter: LimiterFactory | undefined

  constructor(spec: StageSpec) {
    this.name = spec.name
    this.buffer = spec.buffer
    this.ordered = spec.ordered
    this.retries = spec.retries
    this.timeout = spec.timeout
    this.init = spec.init
    this.dispose = spec.dispose
    this.slots = spec.slots
    this.createRunner = spec.createRunner
    this.handlerIndexOf = spec.handlerIndexOf
    this.createLimiter = spec.createLimiter
  }
}

/** A stage's worker settings in one class shape (see FixedSpec). */
export class FixedConfig implements WorkerConfig {
  constructor(
    readonly stats: StageStats,
    readonly scope: WorkerConfig['scope'],
    readonly signal: AbortSignal,
    readonly retries: number,
    readonly timeout: number,
    readonly init: WorkerConfig['init'],
    readonly dispose: WorkerConfig['dispose'],
    public limiter: WorkerConfig['limiter'],
  ) {}
}
