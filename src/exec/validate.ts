import { describeValue } from '../result/describe.js'

/** Composition-time argument checks. Every message names the stage and the argument and repeats the bad value. */

export function describe(value: unknown): string {
  try {
    if (typeof value === 'string') return `\`${describeValue(value)}\` (string)`
    if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`
    if (value === null) return '`null`'
    if (Array.isArray(value)) return `an array of length ${value.length}`
    if (typeof value === 'object') return 'an object'
    return `\`${String(value)}\` (${typeof value})`
  } catch {
    // a revoked Proxy, a `name` getter that throws
    return `\`${describeValue(value)}\` (${typeof value})`
  }
}

/** The one factory of the TypeErrors pipevine throws at composition time (and of a misused stream's): `stage: message`. */
export function usageError(stage: string, message: string): TypeError {
  return new TypeError(`${stage}: ${message}`)
}

export function fail(stage: string, argument: string, expected: string, value: unknown): never {
  throw usageError(stage, `\`${argument}\` must be ${expected}, got ${describe(value)}`)
}

export function checkInteger(stage: string, argument: string, value: unknown, min: number, allowInfinity = false): number {
  if (allowInfinity && value === Infinity) return Infinity
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(stage, argument, `an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}`, value)
  }
  return value
}

export function checkNumber(stage: string, argument: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min) fail(stage, argument, `a number >= ${min}`, value)
  return value
}

export function checkFunction(stage: string, argument: string, value: unknown): void {
  if (typeof value !== 'function') fail(stage, argument, 'a function', value)
}

export function checkBoolean(stage: string, argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(stage, argument, 'a boolean', value)
  return value
}

export function checkKeys(stage: string, options: object, allowed: readonly string[]): void {
  let keys: string[]
  try {
    keys = Object.keys(options)
  } catch {
    fail(stage, 'options', 'an options object', options)
  }
  for (const key of keys) {
    if (!allowed.includes(key)) {
      throw usageError(stage, `unknown option \`${key}\` (known options: ${allowed.join(', ')})`)
    }
  }
}

/** A plain object: not an array, nor a Map, Date, Promise, … (whose keys are not options). A revoked Proxy is none. */
export function isOptionsObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false
  try {
    return !Array.isArray(value) && Object.prototype.toString.call(value) === '[object Object]'
  } catch {
    return false
  }
}

export function checkOptionsObject(stage: string, argument: string, value: unknown): void {
  if (!isOptionsObject(value)) fail(stage, argument, 'an options object', value)
}
