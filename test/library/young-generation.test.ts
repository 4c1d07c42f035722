import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Library } from '../../src/library/index.js';
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
