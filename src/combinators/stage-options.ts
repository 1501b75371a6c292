import { checkBoolean, checkFunction, checkInteger, checkKeys, checkNumber, checkOptionsObject, fail } from '../exec/validate.js'
import type { WorkerOptions } from './types.js'
import { kLimiter, type LimiterFactory } from '../exec/engine/limiter.js'

export const WORKER_KEYS = ['name', 'buffer', 'retries', 'ordered', 'timeout', 'init', 'dispose'] as const

/** The longest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days); beyond it Node fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647

export interface ParsedWorkerOptions {
  name: string | undefined
  buffer: number
  retries: number
  ordered: boolean
  timeout: number
  init: WorkerOptions['init']
  dispose: WorkerOptions['dispose']
  /** The internal `kLimiter` option (see exec/engine/limiter.ts). */
  createLimiter: LimiterFactory | undefined
}

/** Validates the options common to worker stages; `stage` names the combinator in messages. */
export function parseWorkerOptions(stage: string, options: WorkerOptions & Record<string, unknown>, extraKeys: readonly string[]): ParsedWorkerOptions {
  checkOptionsObject(stage, 'options', options)
  checkKeys(stage, options, [...WORKER_KEYS, ...extraKeys])
  const { name, buffer = 1, retries = 0, ordered = false, timeout, init, dispose } = options
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) fail(stage, 'name', 'a non-empty string', name)
  checkInteger(stage, 'buffer', buffer, 0)
  checkInteger(stage, 'retries', retries, 0)
  checkBoolean(stage, 'ordered', ordered)
  if (timeout !== undefined) {
    checkNumber(stage, 'timeout', timeout, 0)
    if (timeout === 0 || !(timeout <= MAX_TIMER_MS)) fail(stage, 'timeout', `a positive number of milliseconds up to ${MAX_TIMER_MS}`, timeout)
  }
  if (init !== undefined) checkFunction(stage, 'init', init)
  if (dispose !== undefined) checkFunction(stage, 'dispose', dispose)
  const createLimiter = (options as { [kLimiter]?: LimiterFactory })[kLimiter]
  if (createLimiter !== undefined) checkFunction(stage, 'limiter', createLimiter)
  return { name, buffer, retries, ordered, timeout: timeout ?? 0, init, dispose, createLimiter }
}
