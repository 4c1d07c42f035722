/**
 * Worker thread: reads the tags of the files the pool sends it (tag-worker-pool.ts), in
 * batches (tag-batch-server.ts), with blocking reads, which on a thread of its own are the
 * fast way. music-metadata is loaded only when a file needs it (tag-reader.ts): most files
 * are read by the fast path, and a worker that never needs it never holds its modules.
 */
import { serveTagBatches } from './tag-batch-server.js';
import { readTagsBlocking } from './tag-reader.js';

serveTagBatches(readTagsBlocking);
