/**
 * One stage's figures, counted by the stage itself.
 *
 * @example
 * ```ts
 * await run(pipeline, { onProgress: (r) => console.log(r.stages.map((s) => `${s.name}: ${s.inFlight} busy`).join(', ')) })
 * ```
 */
export interface StageReport {
  /** Unique within the run: `fetch`, then `fetch#2` for a second stage of that name. */
  readonly name: string
  /** Items its handlers turned into `Right`s. */
  readonly processed: number
  /** Items it turned into `Left`s (an item that later succeeds in a downstream `retry` moves back to `processed`). */
  readonly failed: number
  /** Items its handlers dropped by returning `skip` (neither processed nor failed). Each input leaves a stage once: as a `Right`, as a `Left`, or skipped. */
  readonly skipped: number
  /** Attempts beyond the first, in place (`retries`) and from a downstream `retry`. */
  readonly retried: number
  /** Items that were queued or in flight when the stage was stopped (cancel, kill, break). */
  readonly cancelled: number
  /** Late results of abandoned attempts (timed out or cancelled), discarded and never emitted. */
  readonly discarded: number
  /** From when the stage first ran (its first pull, before any item arrived) to its end, or to now while it runs. */
  readonly durationMs: number
  /**
   * Time its handlers ran, summed over workers (0 when timing is off). Each
   * worker times its first 16 items, then one item in 16 (counted 16 times):
   * a clock read costs as much as a cheap handler.
   */
  readonly busyMs: number
  /** Items its handlers are working on now. */
  readonly inFlight: number
  /**
   * How many attempts may run at once: the configured concurrency (`Infinity`:
   * no limit; a `retry`'s own `concurrency`; 1 for stages without workers), or a
   * limiter's current limit (an adaptive `concurrency`).
   */
  readonly concurrency: number
}

/**
 * What a run did: the whole pipeline's figures and every stage's. `run` resolves
 * with it; a run's `PipelineError` carries the report up to the moment it ended.
 *
 * @example
 * ```ts
 * const result = await run(pipe(ids, pool(fetchUser, 8), pool(store, 2)))
 * const report = isRight(result) ? result.right : result.left.report
 * for (const stage of report?.stages ?? []) console.log(stage.name, stage.processed, stage.failed, stage.busyMs)
 * ```
 */
export interface Report {
  /** `Right` items that left the last stage (by length with `countLength`). */
  readonly processed: number
  /** Failed items, each counted once: `Left`s that left the pipeline or were dropped by `values()`/`deadLetter`. */
  readonly failed: number
  /** Items dropped by a handler's `skip`, each counted once (at the stage that dropped it); with neither `batch` nor `unbatch`/`flatten` in between, `processed + failed + skipped` is the number of inputs. */
  readonly skipped: number
  /** From the start of the run to its end (or to now, in `onProgress`). */
  readonly durationMs: number
  /** Every stage's figures, one entry per stage. */
  readonly stages: readonly StageReport[]
}
