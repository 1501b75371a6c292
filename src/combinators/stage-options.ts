import { checkBoolean, checkFunction, checkInteger, checkKeys, checkNumber, checkOptionsObject, fail, isOptionsObject } from '../exec/validate.js'
import type { WorkerOptions } from './types.js'
import { kLimiter, type LimiterFactory } from '../exec/engine/limiter.js'
import { gateFactory } from '../exec/engine/limiters/gate.js'
import type { AdaptiveConcurrency, RateLimit } from './types.js'

export const WORKER_KEYS = ['name', 'buffer', 'retries', 'ordered', 'timeout', 'init', 'dispose', 'rate'] as const

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
  /** The internal `kLimiter` option (see exec/engine/limiter.ts), or the one `rate` and `concurrency: { min, max }` make. */
  createLimiter: LimiterFactory | undefined
  rate: { perSecond: number; burst: number } | undefined
}

/** Validates the options common to worker stages; `stage` names the combinator in messages. */
export function parseWorkerOptions(stage: string, options: WorkerOptions & Record<string, unknown>, extraKeys: readonly string[]): ParsedWorkerOptions {
  checkOptionsObject(stage, 'options', options)
  checkKeys(stage, options, [...WORKER_KEYS, ...extraKeys])
  const { name, buffer = 1, retries = 0, ordered = false, timeout, init, dispose, rate } = options
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
  const parsedRate = rate === undefined ? undefined : parseRate(stage, rate)
  return { name, buffer, retries, ordered, timeout: timeout ?? 0, init, dispose, createLimiter: createLimiter ?? (parsedRate && gateFactory({ adaptive: undefined, rate: parsedRate })), rate: parsedRate }
}

function parseRate(stage: string, rate: unknown): { perSecond: number; burst: number } {
  if (!isOptionsObject(rate)) fail(stage, 'rate', 'an object { perSecond, burst? }', rate)
  checkKeys(`${stage} rate`, rate, ['perSecond', 'burst'])
  const { perSecond, burst = 1 } = rate as RateLimit
  if (typeof perSecond !== 'number' || !(perSecond > 0) || perSecond === Infinity) fail(stage, 'rate.perSecond', 'a finite number > 0', perSecond)
  checkInteger(stage, 'rate.burst', burst, 1)
  return { perSecond, burst }
}

/**
 * A stage's `concurrency` (`fixed`: the number the stage accepts; an object:
 * adaptive, `{ min, max, initial? }`): its worker bound, and the limiter its
 * limits need (adaptive, `rate`, or the internal option). `maxSlots` caps `max`
 * (mix: one worker per handler).
 */
export function parseConcurrency(stage: string, concurrency: unknown, parsed: ParsedWorkerOptions, maxSlots = Infinity): { slots: number; createLimiter: LimiterFactory | undefined } {
  if (!isOptionsObject(concurrency)) {
    checkInteger(stage, 'concurrency', concurrency, 1, true)
    return { slots: concurrency as number, createLimiter: parsed.createLimiter }
  }
  checkKeys(`${stage} concurrency`, concurrency, ['min', 'max', 'initial'])
  const { min, max, initial = min } = concurrency as AdaptiveConcurrency
  checkInteger(stage, 'concurrency.min', min, 1)
  checkInteger(stage, 'concurrency.max', max, min)
  if (max > maxSlots) fail(stage, 'concurrency.max', `at most ${maxSlots} (one worker per handler)`, max)
  checkInteger(stage, 'concurrency.initial', initial, min)
  if (initial > max) fail(stage, 'concurrency.initial', `an integer in [${min}, ${max}] (min, max)`, initial)
  return { slots: max, createLimiter: gateFactory({ adaptive: { min, max, initial }, rate: parsed.rate }) }
}
