import type { Runner, WorkerConfig, WorkerOwner } from './runner.js'

/**
 * Handlers that bring their own runner carry this symbol: a worker thread that
 * takes several items at once (see `Runner.limit`). `pool`, `mix` and `fork`
 * create their runners with it in place of a Worker (it times items where they
 * run, in the thread, and replaces a stuck thread). It is the only way a thread
 * handler runs: called directly, it throws.
 */
export const kRunner: unique symbol = Symbol.for('pipevine.runner')

export interface RunnerFactory {
  [kRunner](config: WorkerConfig, owner: WorkerOwner, index: number, handlerIndex: number): Runner
}

export function hasRunner(value: unknown): value is RunnerFactory {
  return typeof value === 'function' && typeof (value as Partial<RunnerFactory>)[kRunner] === 'function'
}
