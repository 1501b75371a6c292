// The CPU stage of the demo. This module is loaded once in each worker thread
// (`pool(thread(new URL('./hash-worker.ts', import.meta.url)), 2)`), and its
// default export runs there for each file: SHA-256 is pure CPU work, so two
// threads hash two files at once while the main thread keeps reading.
import { createHash } from 'node:crypto'

/** What the read stage hands over: a file's path and its bytes. */
export interface FileData {
  path: string
  data: Uint8Array
}

/** What comes back from the thread: the bytes stay behind, only the digest returns. */
export interface HashedFile {
  path: string
  size: number
  sha256: string
}

export default function sha256File(file: FileData): HashedFile {
  const sha256 = createHash('sha256').update(file.data).digest('hex')
  return { path: file.path, size: file.data.byteLength, sha256 }
}
