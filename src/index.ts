/**
 * pipevine: fast, concurrent, failure-aware dataflows for Node.js.
 *
 * `Either`, `Left`, `Right`, `isLeft`, `isRight`, `left` and `right` are
 * fp-ts's own, re-exported so that one import covers a pipeline; their entries
 * here are fp-ts's documentation. `pipe` and `flow` have fp-ts's meaning and
 * types, and check that every operator is a function.
 *
 * @example
 * ```ts
 * const half = (n: number) => (n % 2 === 0 ? right(n / 2) : left(new Error(`${n} is odd`)))
 * const result = await collect(pipe([1, 2, 3, 4], pool(half)))
 * if (isRight(result)) console.log(result.right.values, result.right.errors.map((e) => e.item)) // [1, 2] [1, 3]
 * ```
 * @packageDocumentation
 */

// Composition
export { pipe, flow } from './combinators/pipe.js'
export { from } from './combinators/from.js'
export { provide, type Provided } from './combinators/provide.js'
export { fromReaderTaskEither, fromTaskEither } from './combinators/reader.js'
export type { Flow, Operator, Stage, WorkerStage, Needs, EnvOf, Source, Handler, HandlerValue, HandlerError, StageInput, StageOutput } from './exec/types.js'
export type { AdaptiveConcurrency, RateLimit, StageOptions, WorkerOptions, ItemOf, EnvOfHandlers, ErrorOfHandlers } from './combinators/types.js'

// Combinators
export { pool, type PoolOptions } from './combinators/pool.js'
export { mix, type MixOptions } from './combinators/mix.js'
export { fork, type ForkOptions, type ForkResults } from './combinators/fork.js'
export { retry, type RetryPolicy, type Backoff } from './combinators/retry.js'
export { buffer } from './combinators/buffer.js'
export { batch, unbatch, type BatchOptions } from './combinators/batch.js'
export { flatten, type ElementOf } from './combinators/flatten.js'
export { merge } from './combinators/merge.js'

// Items and errors
export { StageError, TimeoutError } from './result/stage-error.js'
export { PipelineError, type PipelineErrorKind } from './result/pipeline-error.js'
export { values, errors, orThrow } from './combinators/values.js'
export { deadLetter, type DeadLetterSink } from './combinators/dead-letter.js'
export { isLeft, isRight, left, right, type Either, type Left, type Right } from './result/either.js'

// Running
export { run, collect, type RunOptions, type Collected } from './exec/run.js'
export type { EnvArg, EnvChecked, ProvideChecked } from './exec/env-check.js'
export { kill, type KillSwitch } from './exec/kill.js'
export { skip, type Skip } from './exec/skip.js'
export { WorkerState, type StageContext, type StateOf, type DefaultState } from './exec/context.js'
export type { Logger } from './exec/logger.js'
export type { Report, StageReport } from './result/report.js'

// Worker threads
export { thread, transfer, ThreadError, type ThreadOptions, type ThreadHandler } from './exec/thread/thread.js'
export { threadPool, type ThreadPool, type ThreadPoolOptions } from './exec/thread/thread-pool.js'

// Interop with Node and web streams
export { toReadable, toReadableStream, type ToStreamOptions } from './exec/interop.js'
