import { messageOf } from '../result/describe.js'
import { whenSettled } from './engine/settle.js'

/**
 * The logging surface pipevine writes to (`run`'s `log` option, `ctx.log`);
 * `console` satisfies it. A level left out is ignored (`{ warn: console.warn }` logs
 * warnings only); a level that throws is caught and reported once on `console.error`.
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

type Level = keyof Logger

/**
 * The run's view of a user's Logger (also what handlers get as `ctx.log`). Logging
 * never stops or hangs a run: a level the logger lacks says nothing (`{ warn }` alone
 * means warnings only), and a level that throws, or returns a promise that rejects, is
 * caught; the first such failure is reported once, through `console.error`. Each
 * level is looked up when it is called, as loggers that swap their methods expect.
 */
class SafeLogger implements Logger {
  private complained = false

  constructor(private readonly target: Logger) {}

  // Own bound functions: `const { warn } = ctx.log` and `.catch(ctx.log.error)` work, as they do with `console`.
  readonly debug = (message: string, ...details: unknown[]): void => this.write('debug', message, details)
  readonly info = (message: string, ...details: unknown[]): void => this.write('info', message, details)
  readonly warn = (message: string, ...details: unknown[]): void => this.write('warn', message, details)
  readonly error = (message: string, ...details: unknown[]): void => this.write('error', message, details)

  /** Whether `level` reaches the logger, so that a line nobody reads is never built. */
  has(level: Level): boolean {
    try {
      return typeof this.target[level] === 'function'
    } catch {
      return false
    }
  }

  private write(level: Level, message: string, details: unknown[]): void {
    try {
      const fn: unknown = this.target[level]
      if (typeof fn !== 'function') return
      const returned: unknown = details.length === 0 ? fn.call(this.target, message) : fn.call(this.target, message, ...details)
      if (returned !== undefined) whenSettled(returned, noop, this.complain)
    } catch (error) {
      this.complain(error)
    }
  }

  private readonly complain = (error: unknown): void => {
    if (this.complained) return
    this.complained = true
    try {
      console.error(`pipevine: the run's logger failed (the run goes on; later failures of the logger are not reported): ${messageOf(error)}`)
    } catch {
      // nowhere left to report to
    }
  }
}

/** The run's logger for `run`'s `log` option (validated by `run`). */
export function toLogger(log: boolean | Partial<Logger> | undefined): Logger {
  if (log === true) return new SafeLogger(console)
  if (!log) return silentLogger
  return new SafeLogger(log as Logger)
}

/** Whether a line at `level` is read by anyone: build a log line only when it is. */
export function logsAt(log: Logger, level: Level): boolean {
  return log instanceof SafeLogger ? log.has(level) : log !== silentLogger
}

/** The levels of a `log` option that are there but are not functions; `undefined` when none of the four is a function. */
export function badLevels(log: object): string[] | undefined {
  const bad: string[] = []
  let found = false
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    let fn: unknown
    try {
      fn = (log as Partial<Logger>)[level]
    } catch {
      bad.push(level)
      continue
    }
    if (typeof fn === 'function') found = true
    else if (fn !== undefined) bad.push(level)
  }
  return found ? bad : undefined
}
