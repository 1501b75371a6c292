/** The logging surface pipevine writes to; `console` satisfies it. */
export interface Logger {
  debug(message: string, ...details: unknown[]): void
  info(message: string, ...details: unknown[]): void
  warn(message: string, ...details: unknown[]): void
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

/** A short, single-line form of an item for log lines. */
export function shortForm(item: unknown, max = 80): string {
  let text: string
  try {
    text = typeof item === 'string' ? JSON.stringify(item) : typeof item === 'bigint' ? `${item}n` : (JSON.stringify(item) ?? String(item))
  } catch {
    text = String(item)
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
