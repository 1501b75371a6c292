/**
 * What a handler returns (or resolves to) to drop its item without a failure: p-map's
 * `pMapSkip`, or a filter inside a stage. The item leaves the stage as nothing; the stage
 * counts it in `StageReport.skipped` (neither processed nor failed) and the run in
 * `Report.skipped`. A registered symbol, so it is the same value in a worker thread
 * and in another copy of pipevine (ESM and CommonJS), and crosses the thread boundary.
 *
 * @example
 * ```ts
 * const active = pool(async (id: number, ctx: StageContext) => {
 *   const user = await fetchUser(id, ctx)
 *   return user.active ? user : skip // not a failure: counted in StageReport.skipped
 * }, 8)
 * ```
 */
export const skip: unique symbol = Symbol.for('pipevine.skip')

/**
 * The type of `skip`: a handler's return type may include it; it never reaches the stage's output type.
 *
 * @example
 * ```ts
 * const adultsOnly = (user: User): User | Skip => (user.age >= 18 ? user : skip)
 * pipe(users, pool(adultsOnly), values()) // Flow<User>
 * ```
 */
export type Skip = typeof skip
