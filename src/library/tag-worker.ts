/**
 * Worker thread: reads the tags of the files it is sent (see tag-worker-pool.ts), one
 * message in, one out, with blocking reads, which on a thread of its own are the fast way.
 */
import { parentPort } from 'node:worker_threads';
import { readTagsBlocking, type AudioTags } from './tag-reader.js';

export interface TagWorkerRequest {
  id: number;
  absolutePath: string;
}

export interface TagWorkerReply {
  id: number;
  tags: AudioTags;
}

parentPort?.on('message', (request: TagWorkerRequest) => {
  // Never rejects: a file it cannot parse has no tags.
  void readTagsBlocking(request).then((tags) => parentPort!.postMessage({ id: request.id, tags } satisfies TagWorkerReply));
});
