import type { StageContext } from '../exec/context.js'

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
