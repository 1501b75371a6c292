import { pipe, pool, run, type Report } from '../../../../src/index.js'
import { SimServer } from '../../../../bench/sim-server.js'

/** Items without end: the run is stopped by its signal. */
export function* endless(): Generator<number> {
  for (let i = 0; ; i++) yield i
}

export interface Sample {
  /** ms since the run started. */
  t: number
  /** The stage's reported limit. */
  limit: number
  /** The server's refusals so far. */
  refused: number
  /** The server's calls so far. */
  calls: number
}

/**
 * Runs an adaptive pool against `server` until `untilMs`, sampling the
 * reported limit from `onProgress` (every 25 ms); `at` runs once when a
 * progress event comes at or after `at.ms` (e.g. to halve the server's capacity).
 */
export async function adaptiveRun(server: SimServer, initial: number, untilMs: number, at?: { ms: number; then: () => void }): Promise<{ samples: Sample[]; atMs: number; report: Report | undefined }> {
  const ac = new AbortController()
  const samples: Sample[] = []
  let t0 = 0
  let atMs = NaN
  const result = await run(
    pipe(
      endless(),
      pool((n: number) => server.call(n), { name: 'api', concurrency: { min: 1, max: 256, initial } }),
    ),
    {
      signal: ac.signal,
      progressMs: 25,
      onProgress(report) {
        const now = performance.now()
        if (t0 === 0) t0 = now
        const t = now - t0
        samples.push({ t, limit: report.stages.find((s) => s.name === 'api')!.concurrency, refused: server.refused, calls: server.calls })
        if (at !== undefined && Number.isNaN(atMs) && t >= at.ms) {
          atMs = t
          at.then()
        }
        if (t >= untilMs) ac.abort()
      },
    },
  )
  return { samples, atMs, report: result._tag === 'Left' ? result.left.report : result.right }
}

/** The samples in [fromMs, toMs], and what they show: limits, refusals and calls in that span. */
export function span(samples: Sample[], fromMs: number, toMs: number) {
  const inside = samples.filter((s) => s.t >= fromMs && s.t <= toMs)
  const first = inside[0]!
  const last = inside[inside.length - 1]!
  return {
    count: inside.length,
    min: Math.min(...inside.map((s) => s.limit)),
    max: Math.max(...inside.map((s) => s.limit)),
    refused: last.refused - first.refused,
    calls: last.calls - first.calls,
    ms: last.t - first.t,
    trace: samples.filter((_, i) => i % 4 === 0).map((s) => `${(s.t / 1000).toFixed(1)}s:${s.limit}`).join(' '),
  }
}
