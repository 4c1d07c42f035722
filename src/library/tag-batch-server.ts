/**
 * The tag worker's side of its protocol with the pool (tag-worker-pool.ts): a batch of
 * paths per message and one reply per batch. Before each file it counts it in a counter
 * shared with the pool, so that the pool can tell, without a message per file, which file a
 * hung or crashed worker was reading (the files come in the order they were sent).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AudioTags } from './tag-reader.js';

export interface TagWorkerData {
  /** One Int32: how many files this worker has started reading, written here, read by the pool. */
  progress: SharedArrayBuffer;
}

export interface TagWorkerRequest {
  id: number;
  /** The library root with every link resolved, and the files' paths below it. */
  realRoot: string;
  paths: string[];
}

export interface TagWorkerReply {
  id: number;
  /** One per path, in order; null where the file could not be opened safely (see readTagsBlocking). */
  tags: (AudioTags | null)[];
}

/** How a worker reads one file (readTagsBlocking; a test double may wrap it). Never rejects. */
export type ReadTags = (realRoot: string, relativePath: string) => Promise<AudioTags | undefined>;

async function readBatch(progress: Int32Array, readTags: ReadTags, request: TagWorkerRequest): Promise<void> {
  const tags: (AudioTags | null)[] = [];
  for (let i = 0; i < request.paths.length; i++) {
    Atomics.add(progress, 0, 1);
    // Never rejects: a file it cannot parse has no tags.
    tags.push((await readTags(request.realRoot, request.paths[i]!)) ?? null);
  }
  parentPort!.postMessage({ id: request.id, tags } satisfies TagWorkerReply);
}

// One batch after another: the parse awaits (its reads are blocking, but music-metadata's
// API is promise-based), and a second batch must not interleave with the first, or the
// progress counter would name the wrong file.
/** Answers the pool's batches on this worker thread, reading each file with `readTags`. */
export function serveTagBatches(readTags: ReadTags): void {
  if (!parentPort) return; // loaded outside a worker (the test runner finds every file): nothing to serve
  const progress = new Int32Array((workerData as TagWorkerData).progress);
  let queue: Promise<void> = Promise.resolve();
  parentPort.on('message', (request: TagWorkerRequest) => {
    queue = queue.then(() => readBatch(progress, readTags, request));
  });
}
