import type { StageContext } from '../context.js'
import type { Runner, WorkerConfig, WorkerOwner } from './runner.js'

/**
 * Handlers that need a resource of their own per worker (a worker thread) carry
 * this symbol: the stage calls it once per worker and then calls `call` per item.
 */
export const kSpawn: unique symbol = Symbol.for('pipevine.spawn')

export interface SpawnedHandler {
  call(item: unknown, ctx: StageContext<unknown>): unknown
  close(): Promise<void> | void
}

export interface WorkerInfo {
  readonly index: number
  readonly stage: string
  readonly env: unknown
  readonly signal: AbortSignal
}

export interface Spawnable {
  [kSpawn](worker: WorkerInfo): SpawnedHandler
}

export function isSpawnable(value: unknown): value is Spawnable {
  return (typeof value === 'function' || (typeof value === 'object' && value !== null)) && typeof (value as Partial<Spawnable>)[kSpawn] === 'function'
}

/**
 * Handlers that bring their own runner carry this symbol: a worker thread that
 * takes several items at once (see `Runner.limit`). `pool`, `mix` and `fork` use
 * it in place of a Worker (it times items where they run, in the thread, and
 * replaces a stuck thread); anywhere else the handler is still Spawnable.
 */
export const kRunner: unique symbol = Symbol.for('pipevine.runner')

export interface RunnerFactory {
  [kRunner](config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner
}

export function hasRunner(value: unknown): value is RunnerFactory {
  return typeof value === 'function' && typeof (value as Partial<RunnerFactory>)[kRunner] === 'function'
}
