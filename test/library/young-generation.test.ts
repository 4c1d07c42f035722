import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { test } from 'node:test';
import { Library, LibraryIndex, PackedEntries } from '../../src/library/index.js';
import { holdYoungGeneration, youngGenerationHolds } from '../../src/library/young-generation.js';
import { SAMPLE_LIBRARY } from '../client/support/paths.js';

test('young-generation holds nest, and each is released once however often it is called', () => {
  const before = youngGenerationHolds();
  const a = holdYoungGeneration();
  const b = holdYoungGeneration();
  assert.equal(youngGenerationHolds(), before + 2);
  a();
  a();
  assert.equal(youngGenerationHolds(), before + 1);
  b();
  assert.equal(youngGenerationHolds(), before);
});

test('a first start holds the young generation through its scan and tag pass, and lets go once the pass ends', { timeout: 60_000 }, async () => {
  const library = await Library.open(SAMPLE_LIBRARY, { rescanIntervalMs: 0, watchDebounceMs: 0 });
  try {
    assert.equal(youngGenerationHolds(), 1, 'the tag pass holds it');
    await library.tagsSettled();
    assert.equal(youngGenerationHolds(), 0, 'released');
    const reply = [...library.listingReply(library.current.files)];
    assert.ok(reply.length > 0);
    assert.equal(youngGenerationHolds(), 0, 'a listing built from the database released it too');
    for (const _ of library.listingReply(library.current.files)) break; // a client gone mid-reply
    await library.rescan();
    assert.equal(youngGenerationHolds(), 0, 'and a rescan');
  } finally {
    library.close();
  }
});

test('the v1 LIST reply of a snapshot is built with the young generation held, and let go after', () => {
  const files = Array.from({ length: 3 }, (_, i) => ({ path: `${i}.mp3`, absolutePath: `/lib/${i}.mp3`, size: i, mtimeMs: 1, ctimeMs: 1, ino: i, dev: 1 }));
  const index = new LibraryIndex(PackedEntries.of('/lib/', files));
  const flags: string[] = [];
  const original = v8.setFlagsFromString;
  v8.setFlagsFromString = (flag: string) => {
    flags.push(flag);
    original(flag);
  };
  try {
    assert.ok(index.v1ListReply().length > 0);
  } finally {
    v8.setFlagsFromString = original;
  }
  assert.deepEqual(flags, ['--semi-space-growth-factor=1', '--semi-space-growth-factor=2']);
  assert.equal(youngGenerationHolds(), 0);
});
