/**
 * The directory watcher, on real files and real inotify: a rescan is never put off beyond
 * its maximum delay by a file that keeps changing, and a folder (the library root or one in
 * it) removed and made again is noticed, rescanned, and watched afresh.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { Library, type LibraryOptions } from '../../src/library/index.js';
import { TestHarness, delay } from '../support/server-harness.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** A watching library on `root`, no periodic rescans (a change shows only if the watcher saw it). */
async function watching(root: string, options: LibraryOptions = {}): Promise<Library> {
  const library = await Library.open(root, { rescanIntervalMs: 0, readTags: false, onScanError: () => {}, ...options });
  harness.defer(() => library.close());
  return library;
}

/** Waits until the library lists exactly `paths`; returns how long that took. Fails after `timeoutMs`. */
async function untilListed(library: Library, paths: readonly string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  const want = JSON.stringify([...paths].sort());
  for (;;) {
    const have = JSON.stringify(library.current.entries.map((e) => e.path));
    if (have === want) return Date.now() - started;
    if (Date.now() - started > timeoutMs) assert.fail(`after ${timeoutMs} ms the library lists ${have}, not ${want}`);
    await delay(25);
  }
}

test('a file appended to every 0.2 s does not put off the rescan: a new file shows within the maximum delay', { timeout: 20_000 }, async (t) => {
  const root = await harness.library({ 'growing.mp3': 'x' });
  // Debounce 500 ms, maximum delay 2 s (the defaults).
  const library = await watching(root);
  let appending = true;
  const appender = (async () => {
    while (appending) {
      await fsp.appendFile(path.join(root, 'growing.mp3'), 'more');
      await delay(200);
    }
  })();
  try {
    await delay(300);
    await fsp.writeFile(path.join(root, 'new.mp3'), 'new');
    const took = await untilListed(library, ['growing.mp3', 'new.mp3'], 4_000);
    t.diagnostic(`the new file showed after ${took} ms while another grew every 200 ms`);
  } finally {
    appending = false;
    await appender;
  }
});

test('the library root removed and made again is noticed and rescanned, and changes in it are seen from then on', { timeout: 20_000 }, async () => {
  const root = await harness.library({ 'old.mp3': 'old', 'sub/old2.mp3': 'old' });
  const library = await watching(root, { watchDebounceMs: 100 });
  await fsp.rm(root, { recursive: true });
  await delay(300);
  await fsp.mkdir(root);
  await fsp.writeFile(path.join(root, 'fresh.mp3'), 'fresh');
  await untilListed(library, ['fresh.mp3'], 4_000);
  // The new root is watched itself (a new inode; the old watch died with the old folder).
  await delay(300);
  await fsp.writeFile(path.join(root, 'later.mp3'), 'later');
  await untilListed(library, ['fresh.mp3', 'later.mp3'], 4_000);
});

test('a folder in the library removed and made again under the same name is watched afresh', { timeout: 20_000 }, async () => {
  const root = await harness.library({ 'a.mp3': 'a', 'sub/b.mp3': 'b' });
  const library = await watching(root, { watchDebounceMs: 100 });
  await fsp.rm(path.join(root, 'sub'), { recursive: true });
  await fsp.mkdir(path.join(root, 'sub'));
  await fsp.writeFile(path.join(root, 'sub', 'c.mp3'), 'c');
  await untilListed(library, ['a.mp3', 'sub/c.mp3'], 4_000);
  await delay(300);
  // Seen only through a watch on the new folder: nothing changes in the root.
  await fsp.writeFile(path.join(root, 'sub', 'd.mp3'), 'd');
  await untilListed(library, ['a.mp3', 'sub/c.mp3', 'sub/d.mp3'], 4_000);
});
