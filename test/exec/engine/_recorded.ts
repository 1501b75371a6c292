// Shared by the retryAfterMs tests: a handler that records when each attempt starts.

/** A handler that records attempt starts; attempts `fail(n, attempt)` names throw that error (at a recorded time). */
export function recorded(fail: (n: number, attempt: number) => unknown) {
  const starts: { n: number; attempt: number; t: number }[] = []
  const failures: number[] = []
  const handler = async (n: number, ctx: { attempt: number }): Promise<number> => {
    starts.push({ n, attempt: ctx.attempt, t: performance.now() })
    await new Promise((resolve) => setTimeout(resolve, 2))
    const error = fail(n, ctx.attempt)
    if (error !== undefined) {
      failures.push(performance.now())
      throw error
    }
    return n
  }
  return { starts, failures, handler }
}
