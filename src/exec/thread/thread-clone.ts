/*
 * Any value, made fit for a message or to cross the thread boundary: each of
 * these tolerates whatever it is given (a revoked Proxy, a throwing getter or
 * toString, a null-prototype object) and never throws.
 */

/** Why `value` can't be structured-cloned (the error cloning it throws), or undefined when it can. */
export function cloneProblem(value: unknown): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return undefined
  if (typeof value !== 'object') return new TypeError(`${typeof value}s can't be cloned`)
  try {
    structuredClone(value)
    return undefined
  } catch (error) {
    return error ?? new Error('unknown')
  }
}

export function isError(value: unknown): value is Error {
  try {
    return value instanceof Error
  } catch {
    return false // a revoked Proxy
  }
}

export function hasCause(error: Error): boolean {
  try {
    return 'cause' in error
  } catch {
    return false
  }
}

/** A property, or undefined when reading it throws. */
export function read(target: object, key: string): unknown {
  try {
    return (target as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

/**
 * `value` if it can be cloned; else, for an object, a plain copy of its own data
 * that can be (a few levels deep, functions and symbols left out); else undefined.
 */
export function cloneableCopy(value: unknown, depth: number): unknown {
  if (cloneProblem(value) === undefined) return value
  if (typeof value !== 'object' || value === null || depth > 3) return undefined
  try {
    if (Array.isArray(value)) return value.map((element) => cloneableCopy(element, depth + 1))
    const copy: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      const kept = cloneableCopy(read(value, key), depth + 1)
      if (kept !== undefined) copy[key] = kept
    }
    return copy
  } catch {
    return undefined // a Proxy whose traps throw
  }
}

/** `String(value)`, or `fallback` when that throws (a null-prototype object, a throwing toString, a revoked Proxy). */
export function textOf<F>(value: unknown, fallback: F): string | F {
  if (typeof value === 'string') return value
  try {
    return String(value)
  } catch {
    return fallback
  }
}

/** What kind of value this is, for a message; never throws. */
export function describe(value: unknown): string {
  if (typeof value === 'function') return `a function (${textOf(read(value, 'name'), '') || 'anonymous'})`
  if (typeof value === 'symbol') return textOf(value, 'a symbol')
  if (typeof value !== 'object' || value === null) return `a ${typeof value}`
  try {
    const name = textOf((Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name, '')
    return `a value of type ${name || 'Object'}`
  } catch {
    return 'a value that cannot be read (a revoked Proxy?)'
  }
}
