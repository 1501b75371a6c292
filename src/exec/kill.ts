const kKill: unique symbol = Symbol.for('pipevine.kill')

/**
 * What `kill(reason)` returns; a handler that returns (or resolves to) it stops the whole run.
 *
 * @example
 * ```ts
 * const guard = (row: Row): Row | KillSwitch => (row.id === poison ? kill(`poison row ${row.id}`) : row)
 * ```
 */
export interface KillSwitch {
  /** @internal */
  readonly [kKill]: true
  /** Given to `kill(reason)`; becomes the run's `PipelineError.reason`. */
  readonly reason: unknown
}

/**
 * Stops the whole pipeline from inside a handler (the Python library's `KillSwitch`):
 * return it (or resolve to it). The source is closed, in-flight handlers see their
 * signal abort, threads end, and the run resolves `Left({ kind: 'killed', reason })`;
 * a `for await` consumer gets a thrown `PipelineError` of that kind.
 *
 * @example
 * ```ts
 * pool((row: Row) => (row.id === poison ? kill('poison row') : save(row)))
 * ```
 */
export function kill(reason: unknown = 'killed'): KillSwitch {
  return { [kKill]: true, reason }
}

export function isKill(value: unknown): value is KillSwitch {
  if (typeof value !== 'object' || value === null) return false
  try {
    return (value as { [kKill]?: unknown })[kKill] === true
  } catch {
    return false // a revoked Proxy is a plain value
  }
}
