/*
 * How both sides plug into comlink, through its public API only: an endpoint
 * adapter (`Endpoint`) over a Node port, and a transfer handler for batch
 * replies (`transferHandlers`). Nothing here reads comlink's own messages.
 *
 * - Our own messages (log lines, salvaged results) share the port with comlink's:
 *   the adapter hands them to `own` and never shows them to comlink.
 * - A message that can't be cloned: the adapter tells `postFailed` (the host uses
 *   it to fail just the items that can't be sent), and for a batch reply it lets
 *   `repair` make the reply cloneable in place, then posts the same message again.
 *   The reply handler is what makes that possible: comlink calls its `serialize`
 *   right before it posts, so the adapter knows which reply the message carries.
 */
import { transferHandlers, type Endpoint, type TransferHandler } from 'comlink'
import { LOG_KEY, SALVAGE_KEY, type LogMessage, type Reply, type SalvageMessage, type Transferable } from './thread-protocol.js'

/** A batch's reply on its way out of a thread, with what to move rather than copy. */
export class OutgoingReply {
  constructor(
    readonly reply: Reply,
    readonly transfers: Transferable[],
  ) {}
}

const REPLY_HANDLER = 'pipevine.reply'
/** The reply comlink is serializing for the post under way (set by `serialize`, cleared by the adapter). */
let serializing: Reply | undefined

/** In the thread it serializes an OutgoingReply; the main thread gets the Reply itself. */
const replyHandler: TransferHandler<unknown, unknown> = {
  canHandle: (value): value is OutgoingReply => value instanceof OutgoingReply,
  serialize(value) {
    const outgoing = value as OutgoingReply
    serializing = outgoing.reply
    return [outgoing.reply, outgoing.transfers]
  },
  deserialize: (reply) => reply,
}

export type OwnMessage = LogMessage | SalvageMessage

export function isOwnMessage(data: unknown): data is OwnMessage {
  return typeof data === 'object' && data !== null && (LOG_KEY in data || SALVAGE_KEY in data)
}

export interface EndpointHooks {
  /** A message of ours arrived (it is not passed to comlink). */
  readonly own?: (message: OwnMessage) => void
  /** A message could not be posted (it was not sent); comlink's call sees the error. */
  readonly postFailed?: (error: unknown) => void
  /** A batch reply could not be posted: make it cloneable in place and return true to post it again (without transfers). */
  readonly repair?: (reply: Reply, error: unknown) => boolean
}

interface NodePort {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void
  on(event: 'message', listener: (data: unknown) => void): unknown
  off(event: 'message', listener: (data: unknown) => void): unknown
}

/** comlink's node adapter (`comlink/dist/umd/node-adapter`), with the hooks above. */
export function nodeEndpoint(port: NodePort, hooks: EndpointHooks = {}): Endpoint {
  if (transferHandlers.get(REPLY_HANDLER) !== replyHandler) transferHandlers.set(REPLY_HANDLER, replyHandler)
  const { own, postFailed, repair } = hooks
  if (own !== undefined) port.on('message', (data) => isOwnMessage(data) && own(data))
  const listeners = new WeakMap<object, (data: unknown) => void>()
  const endpoint = {
    postMessage(message: unknown, transfers?: Transferable[]): void {
      const reply = serializing
      serializing = undefined
      try {
        port.postMessage(message, transfers)
      } catch (error) {
        if (reply !== undefined && repair?.(reply, error) === true) return port.postMessage(message)
        postFailed?.(error)
        throw error
      }
    },
    addEventListener(_type: string, handler: unknown): void {
      const listener = (data: unknown): void => {
        if (isOwnMessage(data)) return
        if (typeof handler === 'function') handler({ data })
        else (handler as { handleEvent(event: unknown): void }).handleEvent({ data })
      }
      port.on('message', listener)
      listeners.set(handler as object, listener)
    },
    removeEventListener(_type: string, handler: unknown): void {
      const listener = listeners.get(handler as object)
      if (listener === undefined) return
      port.off('message', listener)
      listeners.delete(handler as object)
    },
  }
  return endpoint as unknown as Endpoint
}

export function isDataCloneError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'DataCloneError'
}
