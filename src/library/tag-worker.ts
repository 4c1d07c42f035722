/**
 * Worker thread: reads the tags of the files the pool sends it (tag-worker-pool.ts), in
 * batches (tag-batch-server.ts), with blocking reads, which on a thread of its own are the
 * fast way, and music-metadata's tag maps shared between parses (shared-tag-maps.ts).
 */
import { shareTagMaps } from './shared-tag-maps.js';
import { serveTagBatches } from './tag-batch-server.js';
import { readTagsBlocking } from './tag-reader.js';

await shareTagMaps();
serveTagBatches(readTagsBlocking);
