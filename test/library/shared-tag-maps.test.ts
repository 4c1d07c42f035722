import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseFile } from 'music-metadata';
import { shareTagMaps } from '../../src/library/shared-tag-maps.js';
import { TAG_PARSE_OPTIONS } from '../../src/library/tag-reader.js';
import { SAMPLE_LIBRARY } from '../client/support/paths.js';

// Its own file, so its own process: once shared, the maps stay shared in this thread.
test('shared tag maps: every case-insensitive mapper of music-metadata shares them, and each sample file parses to exactly the same result as before', async () => {
  const files: string[] = [];
  for (const entry of await fsp.readdir(SAMPLE_LIBRARY, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /\.(wav|mp3|flac|ogg|m4a)$/i.test(entry.name)) files.push(path.join(entry.parentPath, entry.name));
  }
  assert.equal(files.length, 10);
  const plain = [];
  for (const file of files) plain.push(await parseFile(file, TAG_PARSE_OPTIONS));
  assert.equal(await shareTagMaps(), 5, 'all five found (a music-metadata upgrade that moves them shows here)');
  for (const [i, file] of files.entries()) {
    const shared = await parseFile(file, TAG_PARSE_OPTIONS);
    assert.deepEqual(shared.common, plain[i]!.common, file);
    assert.deepEqual(shared.native, plain[i]!.native, file);
    assert.deepEqual(shared.format, plain[i]!.format, file);
  }
  assert.equal(await shareTagMaps(), 5, 'installed once');
});
