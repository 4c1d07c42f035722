import assert from 'node:assert/strict';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Library, LibraryIndex, type LibraryEntry } from '../../src/library/index.js';
import { AudioStreamError } from '../../src/protocol/index.js';
import { TestHarness, writeFiles } from '../support/server-harness.js';
import { listReply } from '../support/wire.js';
import { openSpillFiles } from './support/spill-files.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const GiB4 = 2 ** 32;

function entry(p: string, size: number, mtimeMs = 1000): LibraryEntry {
  return { path: p, absolutePath: `/lib/${p}`, size, mtimeMs, ctimeMs: mtimeMs, ino: 1, dev: 1 };
}

/**
 * Opens a library closed in cleanup. Periodic rescans, the directory watcher and the
 * background tag pass are off unless asked, so only the test decides when a scan runs.
 */
async function open(root: string, options: Parameters<typeof Library.open>[1] = {}): Promise<Library> {
  const library = await Library.open(root, { rescanIntervalMs: 0, watchDebounceMs: 0, readTags: false, ...options });
  harness.defer(() => library.close());
  return library;
}

describe('LibraryIndex', () => {
  test('the v1 LIST reply is exact: highest index first, down to 0', () => {
    const index = new LibraryIndex([entry('a.mp3', 1), entry('b/É.ogg', 2), entry('c.wav', 3)]);
    assert.deepEqual(index.v1ListReply(), listReply(['a.mp3', 'b/É.ogg', 'c.wav']));
  });

  test('the LIST reply is encoded once and shared', () => {
    const index = new LibraryIndex([entry('a.mp3', 1)]);
    assert.equal(index.v1ListReply(), index.v1ListReply());
  });

  test('an empty index has an empty LIST reply', () => {
    assert.equal(new LibraryIndex([]).v1ListReply().length, 0);
  });

  test('files of 4 GiB or more are left out of the v1 view, and v1 indexes close the gap', () => {
    const entries = [entry('a.mp3', 1), entry('b-huge.wav', GiB4), entry('c-max.wav', GiB4 - 1), entry('d.ogg', 5)];
    const index = new LibraryIndex(entries);
    assert.equal(index.entries.length, 4);
    assert.deepEqual(
      index.v1Entries.map((e) => e.path),
      ['a.mp3', 'c-max.wav', 'd.ogg'],
    );
    assert.deepEqual(index.v1ListReply(), listReply(['a.mp3', 'c-max.wav', 'd.ogg']));
  });

  test('a large snapshot keeps its v1 LIST reply in an unlinked file, the same bytes, closed with the snapshot', async () => {
    // 12,345 files, some of 4 GiB (left out of v1), some with 4-byte and unpaired UTF-16.
    const entries = Array.from({ length: 12_345 }, (_, i) => entry(`d${String(i).padStart(5, '0')}/${'a long name '.repeat(8)}${i % 7 === 0 ? '🎵' : i % 11 === 0 ? 'x\ud800' : 'É'}.mp3`, i % 1000 === 0 ? GiB4 : i));
    const index = new LibraryIndex(entries);
    const dir = await harness.tempDir();
    const spills = (): string[] => openSpillFiles(dir);
    const pieces = [...index.v1ListPieces(dir, () => false)];
    assert.ok(pieces.length > 1, `sent in pieces: ${pieces.length}`);
    assert.ok(Buffer.concat(pieces).equals(listReply(index.v1Entries.map((e) => e.path))));
    assert.equal(spills().length, 1, 'one file');
    assert.ok(spills()[0]!.endsWith(' (deleted)'));
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing left in the folder');
    // Reused memory: each piece is read into the one buffer, so it is copied out here.
    const copies: Buffer[] = [];
    for (const piece of index.v1ListPieces(dir, () => true)) copies.push(Buffer.from(piece));
    assert.ok(Buffer.concat(copies).equals(Buffer.concat(pieces)));
    index.close();
    assert.deepEqual(spills(), [], 'closed with the snapshot');
    assert.ok(Buffer.concat([...index.v1ListPieces(dir)]).equals(Buffer.concat(pieces)), 'and built in memory after that');
    assert.deepEqual(spills(), []);
    // A small snapshot keeps it in memory as before.
    const small = new LibraryIndex([entry('a.mp3', 1)]);
    assert.deepEqual([...small.v1ListPieces(dir)], [small.v1ListReply()]);
    assert.deepEqual(spills(), []);
  });

  test('sameAs compares path, size, mtime and absolute path of every entry', () => {
    const base = [entry('a.mp3', 1), entry('b.mp3', 2)];
    const index = new LibraryIndex(base);
    assert.equal(index.sameAs(new LibraryIndex([...base])), true);
    assert.equal(index.sameAs(new LibraryIndex([entry('a.mp3', 1)])), false, 'fewer files');
    assert.equal(index.sameAs(new LibraryIndex([entry('a.mp3', 1), entry('b.mp3', 3)])), false, 'size');
    assert.equal(index.sameAs(new LibraryIndex([entry('a.mp3', 1), entry('b.mp3', 2, 2000)])), false, 'mtime');
    assert.equal(index.sameAs(new LibraryIndex([entry('a.mp3', 1), entry('c.mp3', 2)])), false, 'path');
    assert.equal(index.sameAs(new LibraryIndex([entry('a.mp3', 1), { ...entry('b.mp3', 2), absolutePath: '/x' }])), false, 'absolute path');
  });
});

describe('Library', () => {
  test('open on a missing folder or on a file is LIBRARY_NOT_FOUND', async () => {
    const parent = await harness.tempDir();
    await writeFiles(parent, { 'file.mp3': 'x' });
    for (const root of [path.join(parent, 'missing'), path.join(parent, 'file.mp3')]) {
      await assert.rejects(
        Library.open(root, { rescanIntervalMs: 0 }),
        (err: unknown) => err instanceof AudioStreamError && err.code === 'LIBRARY_NOT_FOUND',
      );
    }
  });

  test('a sparse 4 GiB file is scanned but left out of the v1 view', async (t) => {
    const root = await harness.library({ 'a.mp3': 'a', 'z.mp3': 'z' });
    try {
      const huge = await fsp.open(path.join(root, 'm-huge.wav'), 'w');
      await huge.truncate(GiB4);
      await huge.close();
    } catch (err) {
      t.skip(`this file system cannot hold a sparse 4 GiB file (${(err as NodeJS.ErrnoException).code})`);
      return;
    }
    const library = await open(root);
    assert.deepEqual(
      library.current.entries.map((e) => e.path),
      ['a.mp3', 'm-huge.wav', 'z.mp3'],
    );
    assert.deepEqual(library.current.v1ListReply(), listReply(['a.mp3', 'z.mp3']));
  });

  test('rescan swaps in a new snapshot; a holder of the old one still sees the old files', async () => {
    const changes: [LibraryIndex, LibraryIndex][] = [];
    const root = await harness.library({ 'b.mp3': 'b' });
    const library = await open(root, { onChange: (next, previous) => changes.push([next, previous]) });
    const before = library.current;
    const beforeReply = before.v1ListReply();
    await writeFiles(root, { 'a.mp3': 'a' });

    const next = await library.rescan();
    assert.notEqual(next, before);
    assert.equal(library.current, next);
    assert.deepEqual(next.entries.map((e) => e.path), ['a.mp3', 'b.mp3']);
    assert.deepEqual(next.v1ListReply(), listReply(['a.mp3', 'b.mp3']));
    // The old snapshot is untouched: a request that took it keeps its indexes.
    assert.deepEqual(before.entries.map((e) => e.path), ['b.mp3']);
    assert.deepEqual(before.v1ListReply(), beforeReply);
    assert.deepEqual(changes, [[next, before]]);
  });

  test('an unchanged rescan keeps the same index object (and its encoded LIST reply), without onChange', async () => {
    let changes = 0;
    const root = await harness.library({ 'a.mp3': 'a', 'b/c.ogg': 'c' });
    const library = await open(root, { onChange: () => changes++ });
    const before = library.current;
    const reply = before.v1ListReply();
    assert.equal(await library.rescan(), before);
    assert.equal(library.current, before);
    assert.equal(library.current.v1ListReply(), reply);
    assert.equal(changes, 0);
  });

  test('a changed modification time or size counts as a change', async () => {
    const root = await harness.library({ 'a.mp3': 'a' });
    const library = await open(root);
    const first = library.current;
    await fsp.utimes(path.join(root, 'a.mp3'), new Date(2001, 0, 1), new Date(2001, 0, 1));
    const second = await library.rescan();
    assert.notEqual(second, first);
    await fsp.appendFile(path.join(root, 'a.mp3'), 'more');
    await fsp.utimes(path.join(root, 'a.mp3'), new Date(2001, 0, 1), new Date(2001, 0, 1));
    const third = await library.rescan();
    assert.notEqual(third, second);
    assert.equal(third.entries[0]!.size, 5);
  });

  test('concurrent rescans share one scan', async () => {
    const root = await harness.library({ 'a.mp3': 'a' });
    const library = await open(root);
    const first = library.rescan();
    const second = library.rescan();
    assert.equal(first, second);
    await first;
    const later = library.rescan();
    assert.notEqual(later, first, 'a rescan after the first has settled scans again');
    await later;
  });

  test('a failed rescan keeps the current snapshot, and a later rescan works again', async () => {
    const parent = await harness.tempDir();
    const root = path.join(parent, 'lib');
    await writeFiles(root, { 'a.mp3': 'a' });
    const library = await open(root);
    const before = library.current;
    await fsp.rename(root, path.join(parent, 'moved'));
    await assert.rejects(library.rescan());
    assert.equal(library.current, before);
    await writeFiles(root, { 'b.mp3': 'b' });
    const next = await library.rescan();
    assert.deepEqual(next.entries.map((e) => e.path), ['b.mp3']);
  });

  test('periodic rescans pick up a new file and report failures to onScanError', { timeout: 10_000 }, async () => {
    const root = await harness.library({ 'a.mp3': 'a' });
    let changed!: (index: LibraryIndex) => void;
    const changedOnce = new Promise<LibraryIndex>((resolve) => (changed = resolve));
    let failed!: (err: unknown) => void;
    const failedOnce = new Promise<unknown>((resolve) => (failed = resolve));
    const library = await open(root, { rescanIntervalMs: 20, onChange: (index) => changed(index), onScanError: (err) => failed(err) });
    // The rescan timer is unref'd (it must not keep a server process alive), so hold the
    // event loop open while we wait for it.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await writeFiles(root, { 'b.mp3': 'b' });
      const index = await changedOnce;
      assert.deepEqual(index.entries.map((e) => e.path), ['a.mp3', 'b.mp3']);

      await fsp.rm(root, { recursive: true });
      const err = await failedOnce;
      assert.ok(err instanceof Error);
    } finally {
      clearInterval(keepAlive);
      library.close();
    }
  });
});
