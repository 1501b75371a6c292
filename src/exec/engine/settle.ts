/*
 * Adopting what user code returns. A handler, `init`, `merge`, a sink or a logger may
 * return any thenable, and a hand-written one can break the rules that a Promise keeps:
 * its `then` (or the getter for it) may throw, or it may call both callbacks, or one
 * several times, synchronously or later. Each such value goes through `whenSettled`,
 * which reports exactly one outcome; a throw from `then` is that outcome's rejection.
 */

const nativeThen = Promise.prototype.then

/**
 * Whether `Promise.resolve(value)` would adopt `value` as a thenable: it has a `then`
 * function, or reading `then` throws (the adopted promise then rejects with that).
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false
  try {
    return typeof (value as PromiseLike<unknown>).then === 'function'
  } catch {
    return true
  }
}

/**
 * If `value` is a thenable (or reading its `then` throws), arranges for exactly one of
 * `onValue`/`onError` to be called, later, with its outcome, and returns true; returns
 * false for any other value, which the caller then takes as it is. A native promise costs
 * nothing more than its own `then`.
 */
export function whenSettled(value: unknown, onValue: (value: any) => unknown, onError: (error: unknown) => unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false
  let then: unknown
  try {
    then = (value as PromiseLike<unknown>).then
  } catch (error) {
    return rejectLater(error, onError)
  }
  if (then !== nativeThen) return typeof then === 'function' && adopt(value as PromiseLike<unknown>, then as PromiseLike<unknown>['then'], onValue, onError)
  try {
    // A native promise calls one of them once; a subclass whose species throws does so before registering them.
    nativeThen.call(value, onValue, onError)
  } catch (error) {
    rejectLater(error, onError)
  }
  return true
}

// The rare paths of whenSettled, out of its body: it runs once per attempt, and V8 inlines
// a caller's callees only up to a budget of bytecode, which the common path should not spend.

function rejectLater(error: unknown, onError: (error: unknown) => unknown): true {
  void Promise.reject(error).then(undefined, onError)
  return true
}

/**
 * Anything else is adopted the way a Promise adopts a thenable: the resolving functions
 * count only their first call, and a throw from `then` after that is ignored.
 */
function adopt(value: PromiseLike<unknown>, then: PromiseLike<unknown>['then'], onValue: (value: any) => unknown, onError: (error: unknown) => unknown): true {
  new Promise((resolve, reject) => then.call(value, resolve, reject)).then(onValue, onError)
  return true
}
