/**
 * Worker thread: reads the tags of the files the pool sends it (tag-worker-pool.ts), in
 * batches (tag-batch-server.ts), with blocking reads, which on a thread of its own are the
 * fast way.
 */
import { serveTagBatches } from './tag-batch-server.js';
import { readTagsBlocking } from './tag-reader.js';

serveTagBatches(readTagsBlocking);
