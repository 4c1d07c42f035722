/**
 * Worker thread: reads the tags of the files it is sent (see tag-worker-pool.ts), one
 * message in, one out, with blocking reads, which on a thread of its own are the fast way.
 */
import { parentPort } from 'node:worker_threads';
import { readTagsBlocking, type AudioTags } from './tag-reader.js';

export interface TagWorkerRequest {
  id: number;
  /** The library root with every link resolved, and the file's path below it. */
  realRoot: string;
  path: string;
}

export interface TagWorkerReply {
  id: number;
  /** Null when the file could not be opened safely (see readTagsBlocking). */
  tags: AudioTags | null;
}

parentPort?.on('message', (request: TagWorkerRequest) => {
  // Never rejects: a file it cannot parse has no tags.
  void readTagsBlocking(request.realRoot, request.path).then((tags) => parentPort!.postMessage({ id: request.id, tags: tags ?? null } satisfies TagWorkerReply));
});
