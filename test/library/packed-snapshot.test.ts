import assert from 'node:assert/strict';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  DATABASE_FILE_NAME,
  Library,
  LibraryIndex,
  listFolder,
  PackedEntries,
  SavedListing,
  openLibraryDatabase,
  scanLibrary,
  scanLibraryPacked,
  writeSaved,
  type LibraryEntry,
} from '../../src/library/index.js';
import { TestHarness, writeFiles } from '../support/server-harness.js';
import { listReply } from '../support/wire.js';
import { writeTaggedLibrary } from './support/tagged-library.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const GiB4 = 2 ** 32;

function entry(p: string, size: number, mtimeMs = 1000.5): LibraryEntry {
  return { path: p, absolutePath: `/lib/${p}`, size, mtimeMs, ctimeMs: mtimeMs + 1, ino: 2 ** 40 + size, dev: 66306 };
}

test('a folder view of a packed snapshot reads its paths one at a time (no object per file), and equals the view of the same files as objects', () => {
  const files = [entry('a.mp3', 1), entry('b/x/1.mp3', 2), entry('b/x/2.mp3', 3), entry('b/y.mp3', 4), entry('c/z.mp3', 5)];
  const packed = new LibraryIndex(PackedEntries.of('/lib/', files));
  Object.defineProperty(packed, 'entries', { get: () => assert.fail('the folder view made every entry') });
  const objects = new LibraryIndex(files);
  for (const folder of ['', 'b', 'b/x', 'c', 'nothing']) assert.deepEqual(listFolder(packed, folder), listFolder(objects, folder), folder);
  assert.deepEqual(listFolder(packed, 'b'), { folder: 'b', folders: ['x'], files: ['b/y.mp3'], truncated: false });
});

describe('PackedEntries', () => {
  // In code-unit order: 'z' (U+007A) before 'É' (U+00C9).
  const entries = [entry('a.mp3', 1), entry('b/z/𝄞 clef.flac', GiB4), entry('b/É.ogg', 2), entry('c.wav', 3)];

  test('holds every entry exactly, finds each by path, and reads back what it saved', () => {
    const packed = PackedEntries.of('/lib/', entries);
    assert.equal(packed.length, 4);
    assert.deepEqual([...packed], entries);
    for (const [i, e] of entries.entries()) assert.equal(packed.indexOf(e.path), i);
    assert.equal(packed.indexOf('b'), -1);
    assert.equal(packed.indexOf('zz.mp3'), -1);
    assert.equal(packed.at(-1)!.path, 'c.wav');
    assert.equal(packed.at(4), undefined);
    const again = PackedEntries.decode('/lib/', packed.encode());
    assert.ok(again);
    assert.deepEqual([...again], entries);
    assert.ok(again.sameAs(packed));
  });

  test('the saved form written in small pieces is the same, and no piece splits a character', () => {
    const packed = PackedEntries.of('/lib/', entries);
    for (const size of [1, 5, 7, 64]) {
      const pieces = [...packed.pieces(size)];
      assert.deepEqual(Buffer.concat(pieces), packed.encode());
      for (const piece of pieces.slice(2)) assert.deepEqual(Buffer.from(Buffer.from(piece).toString('utf8'), 'utf8'), Buffer.from(piece), `piece of ${size}`);
      assert.deepEqual([...PackedEntries.decode('/lib/', Buffer.concat(pieces))!], entries);
    }
  });

  test('a damaged saved form is refused, not misread', () => {
    const bytes = PackedEntries.of('/lib/', entries).encode();
    assert.equal(PackedEntries.decode('/lib/', bytes.subarray(0, bytes.length - 3)), undefined, 'cut short');
    assert.equal(PackedEntries.decode('/lib/', bytes.subarray(0, 5)), undefined, 'no header');
    const longer = Buffer.concat([bytes, Buffer.from('extra\n')]);
    assert.equal(PackedEntries.decode('/lib/', longer), undefined, 'a path too many');
  });

  test('entries given out of order are sorted as a scan sorts them (UTF-16 code units)', () => {
    const packed = PackedEntries.of('/lib/', [entries[3]!, entries[0]!, entries[2]!, entries[1]!]);
    assert.deepEqual([...packed], entries);
  });

  test('sameAs sees a different stat, path or root', () => {
    const packed = PackedEntries.of('/lib/', entries);
    assert.ok(packed.sameAs(PackedEntries.of('/lib/', [...entries])));
    assert.ok(!packed.sameAs(PackedEntries.of('/other/', entries)), 'root');
    assert.ok(!packed.sameAs(PackedEntries.of('/lib/', [entries[0]!, entries[1]!, entries[2]!, { ...entries[3]!, ctimeMs: 5 }])), 'ctime');
    assert.ok(!packed.sameAs(PackedEntries.of('/lib/', [entries[0]!, entries[1]!, entries[2]!, { ...entries[3]!, path: 'd.wav' }])), 'path');
    assert.ok(!packed.sameAs(PackedEntries.of('/lib/', entries.slice(1))), 'fewer');
  });

  test('a LibraryIndex on packed entries answers as one on the array does (v1 view, LIST reply, byPath)', () => {
    const fromArray = new LibraryIndex(entries);
    const fromPacked = new LibraryIndex(PackedEntries.of('/lib/', entries));
    assert.equal(fromPacked.size, 4);
    assert.equal(fromPacked.v1Count, 3);
    assert.deepEqual(fromPacked.v1ListReply(), fromArray.v1ListReply());
    assert.deepEqual(fromPacked.v1ListReply(), listReply(['a.mp3', 'b/É.ogg', 'c.wav']));
    assert.deepEqual(fromPacked.v1Entry(2), entries[3]);
    assert.equal(fromPacked.v1Entry(3), undefined);
    assert.deepEqual(fromPacked.byPath('b/É.ogg'), entries[2]);
    assert.equal(fromPacked.byPath('nope'), undefined);
    assert.deepEqual(fromPacked.entries, entries);
    assert.ok(fromPacked.sameAs(fromArray) && fromArray.sameAs(fromPacked));
  });
});

describe('the packed scan', () => {
  test('an unchanged library gives the previous snapshot back; any change gives what a full scan gives', async () => {
    const root = await harness.library();
    await writeFiles(root, { 'a.mp3': 'a', 'b/c.ogg': 'cc', 'b/d/e.flac': 'eee', 'f.wav': 'ffff' });
    const real = await fsp.realpath(root);
    const first = await scanLibraryPacked(root);
    assert.deepEqual([...first], await scanLibrary(root));
    assert.equal(await scanLibraryPacked(root, {}, first), first, 'unchanged: the same object, no second snapshot');

    const check = async (what: string): Promise<void> => {
      const next = await scanLibraryPacked(root, {}, first);
      assert.notEqual(next, first, what);
      assert.deepEqual([...next], await scanLibrary(root), what);
      assert.equal(next.prefix, real + '/');
    };
    fs.appendFileSync(path.join(root, 'b/c.ogg'), 'more');
    await check('a file changed');
    fs.writeFileSync(path.join(root, 'b/c.ogg'), 'cc');
    fs.rmSync(path.join(root, 'f.wav'));
    await check('a file removed');
    fs.writeFileSync(path.join(root, 'b/d/new.mp3'), 'new');
    await check('a file removed and one added');
  });
});

describe('the saved snapshot', () => {
  async function openRun(root: string, dataDir: string) {
    const database = openLibraryDatabase(dataDir);
    const library = await Library.open(root, { rescanIntervalMs: 0, watchDebounceMs: 0, database });
    const close = (): void => {
      library.close();
      database.close();
    };
    return { library, database, close };
  }
  const listing = (library: Library): string => Buffer.concat([...library.listingReply(library.current.files)]).toString('utf8');
  const fromDatabase = (library: Library): string => [...library.listingLines(library.current.files)].join('');

  test('a clean stop saves the snapshot and its LIST2 reply; the next start serves them; a write forgets them', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 2);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const file = path.join(dataDir, DATABASE_FILE_NAME);
    const first = await openRun(root, dataDir);
    await first.library.tagsSettled();
    const before = listing(first.library);
    first.close();
    assert.ok(fs.existsSync(`${file}.snapshot`) && fs.existsSync(`${file}.list2`), fs.readdirSync(dataDir).join(' '));

    const second = await openRun(root, dataDir);
    assert.ok(second.library.current.files instanceof PackedEntries);
    assert.equal(listing(second.library), before, 'the saved reply, as it was');
    assert.equal(fromDatabase(second.library), before, 'which is what the database says');
    // A hash is written: the saved files go, before the next start could read them.
    await second.library.sha256(second.library.current.entries[0]!);
    assert.ok(!fs.existsSync(`${file}.snapshot`) && !fs.existsSync(`${file}.list2`));
    assert.equal(listing(second.library), fromDatabase(second.library));
    assert.notEqual(listing(second.library), before);
    second.close();
  });

  test('saved files the database no longer vouches for (a crash after a write) are never served', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 2);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const file = path.join(dataDir, DATABASE_FILE_NAME);
    const first = await openRun(root, dataDir);
    await first.library.tagsSettled();
    first.close();
    const saved = { snapshot: fs.readFileSync(`${file}.snapshot`), list2: fs.readFileSync(`${file}.list2`) };

    const second = await openRun(root, dataDir);
    await second.library.sha256(second.library.current.entries[0]!);
    second.close();
    // As if the removal of the old files had been lost: they are back, the database's token is not theirs.
    fs.writeFileSync(`${file}.snapshot`, saved.snapshot);
    fs.writeFileSync(`${file}.list2`, saved.list2);
    const third = await openRun(root, dataDir);
    assert.equal(listing(third.library), fromDatabase(third.library));
    assert.match(listing(third.library), /"sha256":"[0-9a-f]{64}"/, 'the hash written after the save is listed');
    third.close();
  });

  test('after a start from the database the reconciling scan waits for the first listing to go out whole', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 1);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const first = await openRun(root, dataDir);
    await first.library.tagsSettled();
    first.close();

    const scans: number[] = [];
    const database = openLibraryDatabase(dataDir);
    const library = await Library.open(root, { rescanIntervalMs: 0, watchDebounceMs: 0, database, onScanStart: () => scans.push(performance.now()) });
    harness.defer(() => {
      library.close();
      database.close();
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(scans.length, 0, 'no scan before the first listing');
    const listed = performance.now();
    for (const chunk of library.listingReply(library.current.files)) assert.ok(chunk.length > 0);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(scans.length, 1, 'the scan started once the listing was out');
    assert.ok(scans[0]! >= listed);
  });
});

describe('a saved LIST2 reply', () => {
  test('a reply being sent is sent whole even when the cache drops the file meanwhile (a write during a listing)', async () => {
    const dir = await harness.tempDir();
    const file = path.join(dir, 'reply.list2');
    const body = Buffer.from(Array.from({ length: 500 }, (_, i) => `{"path":"f${i}.mp3"}\r\n`).join(''));
    writeSaved(file, 'a'.repeat(32), [body.subarray(0, 100), body.subarray(100)]);
    assert.equal(SavedListing.open(file, 'b'.repeat(32)), undefined, 'another token: not ours');
    const listing = SavedListing.open(file, 'a'.repeat(32))!;
    assert.equal(listing.bytes, body.length);
    const pieces: Buffer[] = [];
    let closed = false;
    for (const piece of listing.pieces(() => false, 1024)) {
      pieces.push(Buffer.from(piece));
      if (!closed) {
        listing.close(); // what a tag or hash write does to the kept reply
        closed = true;
      }
    }
    assert.ok(pieces.length > 2);
    assert.ok(Buffer.concat(pieces).equals(body), 'the whole reply, as saved');
    assert.throws(() => [...listing], /closed/, 'a new reply is not sent from a dropped file');
  });
});
