/*
 * Reading a stage signal's `aborted` on paths every run takes.
 */

const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!

/**
 * `signal.aborted`, read through AbortSignal's own getter: for the checks every run makes
 * (admitting a parked attempt, deciding to retry a failed one).
 * Node gives every AbortSignal a hidden class of its own (it sets the prototype of a
 * new EventTarget), so a plain `signal.aborted` compiles one run's stage signal's class into
 * the code that reads it, and the first full GC after that run throws the code away: every
 * run then compiled it again. The reads inside the getter have met the process's many
 * signals, each of its own class, and check none of them.
 */
export function signalAborted(signal: AbortSignal): boolean {
  return abortedGetter.call(signal) as boolean
}
