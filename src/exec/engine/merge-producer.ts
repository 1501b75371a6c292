import { END, EMPTY, type AnySource, type Producer, type Pulled, type Wakeable } from './producer.js'
import { openProducer } from './iterator-producer.js'

/**
 * Several sources read as one (`merge`): a take asks each source in turn, starting
 * after the one that gave the last item, so a source that always has an item
 * ready does not starve the others, and every async source has its next read
 * under way at once. Each source is opened with the reader's signal, so merged
 * pipelines share its run (report, env, kill, cancel). A source that fails closes
 * the others, and its failure is given to the reader once they are closed (so when
 * the run ends on it, nothing is left running); closing closes every source still open.
 */
export class MergeProducer<T> implements Producer<T>, Wakeable {
  private readonly open: Producer<T>[]
  private turn = 0
  private listener: Wakeable | null = null
  /** A take asks every source again (see Producer.owesWake). */
  readonly owesWake = false
  private failure: { error: unknown; closed: boolean } | undefined
  private readonly closings: Promise<void>[] = []

  constructor(sources: readonly AnySource<T>[], signal: AbortSignal) {
    this.open = []
    try {
      for (const source of sources) {
        const producer = openProducer(source, signal)
        producer.listen(this)
        this.open.push(producer)
      }
    } catch (error) {
      // A source that can't even be opened: the ones already open are closed, and the reader gets the failure.
      this.fail(error)
    }
  }

  listen(consumer: Wakeable): void {
    this.listener = consumer
  }

  wake(): void {
    this.listener?.wake()
  }

  take(): Pulled<T> {
    if (this.failure !== undefined) {
      if (this.failure.closed) throw this.failure.error
      return EMPTY
    }
    const open = this.open
    for (let tried = 0; tried < open.length; ) {
      if (this.turn >= open.length) this.turn = 0
      let item: Pulled<T>
      try {
        item = open[this.turn]!.take()
      } catch (error) {
        // The failed source needs no closing; every other one is closed now, not when the run ends.
        open.splice(this.turn, 1)
        this.fail(error)
        return EMPTY
      }
      if (item === END) open.splice(this.turn, 1)
      else if (item === EMPTY) {
        this.turn++
        tried++
      } else {
        this.turn++
        return item
      }
    }
    return open.length === 0 ? END : EMPTY
  }

  private fail(error: unknown): void {
    const failure: { error: unknown; closed: boolean } = { error, closed: false }
    this.failure = failure
    this.closeOpen()
    void Promise.allSettled(this.closings).then(() => {
      failure.closed = true
      this.listener?.wake()
    })
  }

  private closeOpen(): void {
    for (const producer of this.open.splice(0)) this.closings.push(producer.close())
  }

  async close(): Promise<void> {
    this.closeOpen()
    await Promise.allSettled(this.closings)
  }
}
