/**
 * The logging surface pipevine writes to (`run`'s `log` option, `ctx.log`);
 * `console` satisfies it.
 *
 * @example
 * ```ts
 * const log: Logger = { debug() {}, info: console.info, warn: console.warn, error: console.error }
 * await run(pipeline, { log })
 * ```
 */
export interface Logger {
  /** A failed attempt that will be retried in place. */
  debug(message: string, ...details: unknown[]): void
  /** Not used by pipevine itself; for handlers, through `ctx.log`. */
  info(message: string, ...details: unknown[]): void
  /** Trouble the run carries on through: an item a stage gave up on, a thread that is stuck or fails to start. */
  warn(message: string, ...details: unknown[]): void
  /** A failure outside any item: `init`, `dispose` or `backoff` threw, a thread crashed. */
  error(message: string, ...details: unknown[]): void
}

const noop = (): void => {}

/** The default: says nothing. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop })

export function toLogger(log: boolean | Logger | undefined): Logger {
  if (log === true) return console
  if (!log) return silentLogger
  return log
}

/** Whether a line at `level` is read by anyone: build a log line only when it is. */
export function logsAt(log: Logger, _level: keyof Logger): boolean {
  return log !== silentLogger
}
