/**
 * Test double of the tag worker: the real batch protocol and the real tag reader, except
 * that a file whose name says so makes the worker loop forever (a parser stuck on a crafted
 * file) or exit at once (a worker killed while reading it, as when it runs out of heap).
 */
import { serveTagBatches } from '../../../src/library/tag-batch-server.js';
import { readTagsBlocking } from '../../../src/library/tag-reader.js';

serveTagBatches(async (realRoot, relativePath) => {
  if (relativePath.includes('loops-forever')) for (;;);
  if (relativePath.includes('kills-its-worker')) process.exit(1);
  return readTagsBlocking(realRoot, relativePath);
});
