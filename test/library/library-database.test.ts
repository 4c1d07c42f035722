import assert from 'node:assert/strict';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  CLEAN_CLOSE_MARK_SUFFIX,
  DATABASE_FILE_NAME,
  LIBRARY_COMPONENT,
  LIBRARY_MIGRATIONS,
  Library,
  LibraryStore,
  ServerDatabase,
  openLibraryDatabase,
  type LibraryOptions,
} from '../../src/library/index.js';
import type { V2Entry } from '../../src/protocol/index.js';
import { TestHarness } from '../support/server-harness.js';
import { freshListingTags, listingTags, sha256OfFile, writeTaggedLibrary } from './support/tagged-library.js';
import { openSpillFiles, spillFilesNamedIn } from './support/spill-files.js';

const harness = new TestHarness();
after(() => harness.cleanup());

interface Run {
  library: Library;
  database: ServerDatabase;
  setAside: string[];
  close(): void;
}

/** Opens the library with its database in `dataDir`, waits for its first scan and tag pass. */
async function run(root: string, dataDir: string, options: LibraryOptions = {}): Promise<Run> {
  const setAside: string[] = [];
  const database = openLibraryDatabase(dataDir, { onSetAside: (m) => setAside.push(m) });
  const library = await Library.open(root, { rescanIntervalMs: 0, watchDebounceMs: 0, database, ...options });
  await library.rescan(); // the scan after a start from the database (shared when one runs)
  await library.tagsSettled();
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    library.close();
    database.close();
  };
  harness.defer(async () => close());
  return { library, database, setAside, close };
}

function records(library: Library): V2Entry[] {
  const records = [...library.records(library.current.entries)].flat();
  // The LIST2 lines kept in the database say the same as the records built from the columns.
  const lines = [...library.listingLines(library.current.entries)].join('').split('\r\n').slice(0, -1);
  assert.deepEqual(lines.map((line) => JSON.parse(line) as V2Entry), records);
  return records;
}

describe('library database', () => {
  test('tag writes, made without foreign-key checks, leave every artist and album id valid, and the checks back on', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 3);
    const first = await run(root, path.join(await harness.tempDir(), 'data'));
    const db = first.database.db;
    assert.ok((db.prepare('SELECT count(*) FROM files WHERE album_id IS NOT NULL').pluck().get() as number) > 0, 'the files have albums');
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    // A full rescan (every tag read again) and its orphan drop keep them valid too.
    await first.library.rescanFully();
    await first.library.tagsSettled();
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  });

  test('a restart with a warm database opens no audio file and serves every tag and hash as before', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 3);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const first = await run(root, dataDir);
    assert.equal(first.library.tagFilesRead, 30, 'the first run reads every file once');
    for (const entry of first.library.current.entries.slice(0, 5)) await first.library.sha256(entry);
    const before = records(first.library);
    first.close();

    const second = await run(root, dataDir);
    assert.equal(second.library.tagFilesRead, 0, 'no file was opened for its tags');
    assert.deepEqual(records(second.library), before);
    assert.equal(before.filter((r) => r.sha256).length, 5, 'the hashes computed before are served');
    for (const record of before) assert.ok(record.codec, `${record.path} has its tags`);
    assert.deepEqual(second.setAside, []);
  });

  test('the LIST2 reply is built once per snapshot and kept until a tag, hash or scan write lands, which drops it', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    const paths = await writeTaggedLibrary(root, 2);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const { library, database } = await run(root, dataDir);
    const reply = (): Buffer[] => [...library.listingReply(library.current.entries)];
    const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
    const first = reply();
    assert.equal(text(first), [...library.listingLines(library.current.entries)].join(''), 'it says what the database says');
    // Changed behind the store's back (nothing drops the kept reply): a reply read from the
    // database again would show it.
    const lines = database.db.prepare('SELECT id, listing FROM files WHERE listing IS NOT NULL').all() as { id: number; listing: string }[];
    const touch = database.db.prepare('UPDATE files SET listing = ? WHERE id = ?');
    for (const { id, listing } of lines) touch.run(listing.replace('"path":"', '"path":"changed behind '), id);
    assert.ok(lines.length > 0);
    assert.equal(text(reply()), text(first), 'the second reply is the kept one, not read again');
    for (const { id, listing } of lines) touch.run(listing, id);

    // A hash written: the next reply carries it.
    const entry = library.current.entries[0]!;
    const sha256 = await library.sha256(entry);
    const afterHash = reply();
    assert.notEqual(afterHash[0], first[0]);
    assert.ok(text(afterHash).includes(`"sha256":"${sha256}"`), 'the new hash is listed');
    assert.equal(text(afterHash), [...library.listingLines(library.current.entries)].join(''));

    // A file changed on disk: the rescan's snapshot gets its own reply, without the old tags.
    const changed = path.join(root, paths[1]!);
    fs.appendFileSync(changed, 'more bytes');
    await library.rescan();
    const afterScan = text(reply());
    const line = afterScan.split('\r\n').find((l) => l.includes(JSON.stringify(paths[1])))!;
    assert.equal(JSON.parse(line).size, fs.statSync(changed).size);
    await library.tagsSettled();
    const afterTags = text(reply());
    assert.equal(afterTags, [...library.listingLines(library.current.entries)].join(''), 'the tags read again are listed');
    assert.ok(JSON.parse(afterTags.split('\r\n').find((l) => l.includes(JSON.stringify(paths[1])))!).codec);
  });

  test('the kept LIST2 reply is an unlinked file beside the database: none is kept from a reply cut short, and a write closes it', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 2);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const { library } = await run(root, dataDir);
    const spills = (): string[] => openSpillFiles(dataDir);
    const namesInDataDir = (): string[] => spillFilesNamedIn(dataDir);
    const whole = (): string => Buffer.concat([...library.listingReply(library.current.entries)]).toString('utf8');

    for (const _ of library.listingReply(library.current.entries)) break; // a client gone after the first piece
    assert.deepEqual(spills(), [], 'a reply cut short is not kept');
    const first = whole();
    assert.equal(spills().length, 1, 'the whole reply is kept in one file');
    assert.ok(spills()[0]!.endsWith(' (deleted)'), `unlinked: ${spills()[0]}`);
    assert.deepEqual(namesInDataDir(), [], 'nothing is left in the data folder');
    assert.equal(whole(), first, 'sent again from the file');
    assert.equal(spills().length, 1);

    await library.sha256(library.current.entries[0]!); // a write: the kept reply is stale
    assert.deepEqual(spills(), [], 'its file is closed');
    assert.notEqual(whole(), first);
    assert.equal(spills().length, 1);
  });

  test('after a long tag pass the LIST2 reply is made ready before anyone asks, and it is the database\'s', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 2);
    const dataDir = path.join(await harness.tempDir(), 'data');
    // 20 files count as a long pass here (10,000 by default).
    const { library, database } = await run(root, dataDir, { longTagPassFiles: 20 });
    await new Promise((resolve) => setImmediate(resolve)); // the pass's end makes it ready on the next turn
    const lines = database.db.prepare('SELECT id, listing FROM files WHERE listing IS NOT NULL').all() as { id: number; listing: string }[];
    const touch = database.db.prepare('UPDATE files SET listing = ? WHERE id = ?');
    const expected = [...library.listingLines(library.current.files)].join('');
    // Changed behind the store's back: a reply built only now would show it.
    for (const { id, listing } of lines) touch.run(listing.replace('"path":"', '"path":"changed behind '), id);
    assert.equal(lines.length, 20);
    assert.equal(Buffer.concat([...library.listingReply(library.current.files)]).toString('utf8'), expected, 'the reply was ready, built before the change');
    assert.ok(!expected.includes('changed behind'));
  });

  test('a short tag pass leaves the LIST2 reply to the first listing', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 2);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const { library, database } = await run(root, dataDir, { longTagPassFiles: 21 });
    await new Promise((resolve) => setImmediate(resolve));
    database.db.prepare(`UPDATE files SET listing = replace(listing, '"path":"', '"path":"changed behind ')`).run();
    assert.match(Buffer.concat([...library.listingReply(library.current.files)]).toString('utf8'), /changed behind/, 'built at the first listing');
  });

  test('the database is outside the library, private to its user (directory 0700, file 0600)', async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 1);
    const dataDir = path.join(await harness.tempDir(), 'nested', 'data');
    const { close } = await run(root, dataDir, { readTags: false });
    close();
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(dataDir, DATABASE_FILE_NAME)).mode & 0o777, 0o600);
    const inLibrary = await fsp.readdir(root, { recursive: true });
    assert.ok(!inLibrary.some((name) => name.includes('sqlite')), 'nothing written into the library');
  });

  test('files added, changed, renamed and removed while the server was down: only those are read, the renamed one keeps its id', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    const paths = await writeTaggedLibrary(root, 2);
    // Whole seconds, so that putting the time back later restores it exactly.
    fs.utimesSync(path.join(root, paths[2]!), 1_700_000_000, 1_700_000_000);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const first = await run(root, dataDir);
    for (const entry of first.library.current.entries) await first.library.sha256(entry);
    const renamedFrom = paths[0]!;
    const changed = paths[1]!;
    const sameSize = paths[2]!;
    const removed = paths[3]!;
    const oldIds = new Map(paths.map((p) => [p, first.library.store.track(p)!.id]));
    first.close();

    // Renamed: a new path, the same inode, size and mtime.
    await fsp.rename(path.join(root, renamedFrom), path.join(root, 'renamed.flac'));
    // Changed: other content (another sample file's bytes) under the same name.
    await fsp.copyFile(path.join(root, paths[12]!), path.join(root, changed));
    // The hash cache's old hole: a rewrite of the same size that puts the old mtime back.
    const sameSizePath = path.join(root, sameSize);
    const { mtimeMs, size } = fs.statSync(sameSizePath);
    const bytes = fs.readFileSync(sameSizePath);
    bytes[bytes.length - 2] ^= 0xff;
    fs.writeFileSync(sameSizePath, bytes);
    fs.utimesSync(sameSizePath, 1_700_000_000, 1_700_000_000);
    assert.equal(fs.statSync(sameSizePath).size, size);
    assert.equal(fs.statSync(sameSizePath).mtimeMs, mtimeMs, 'the old mtime is back');
    await fsp.rm(path.join(root, removed));
    await fsp.copyFile(path.join(root, paths[4]!), path.join(root, 'added.mp3'));

    const second = await run(root, dataDir);
    // renamed (its facts cannot be vouched for), changed, same-size rewrite, added
    assert.equal(second.library.tagFilesRead, 4);
    const store = second.library.store;
    assert.equal(store.track('renamed.flac')!.id, oldIds.get(renamedFrom), 'a rename keeps the id');
    assert.equal(store.track(renamedFrom), undefined);
    assert.equal(store.track(removed), undefined);
    assert.equal(store.track(changed)!.id, oldIds.get(changed), 'a changed file keeps its id');
    assert.ok(!paths.includes('added.mp3') && store.track('added.mp3')!.id > Math.max(...oldIds.values()), 'a new file gets a new id');
    for (const record of records(second.library)) {
      const abs = path.join(root, record.path);
      assert.deepEqual(listingTags(record), await freshListingTags(abs), record.path);
      if (record.sha256) assert.equal(record.sha256, await sha256OfFile(abs), `${record.path}: no stale hash is served`);
    }
    const rewritten = records(second.library).find((r) => r.path === sameSize)!;
    assert.equal(rewritten.sha256, undefined, 'the rewritten file has no hash until it is computed again');
    const entry = second.library.current.byPath(sameSize)!;
    assert.equal(await second.library.sha256(entry), await sha256OfFile(sameSizePath));
  });

  test('albums and artists are derived from the tags (album artist first) and keep their ids across restarts', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 1);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const first = await run(root, dataDir);
    const albums = first.library.store.albums();
    const artists = first.library.store.artists();
    const compilation = albums.find((a) => a.name === 'Noise Études');
    assert.ok(compilation, JSON.stringify(albums));
    assert.equal(compilation.tracks, 3, 'a compilation is one album under its album artist');
    const track = first.library.store.track('set-0000/Various Artists/Noise Études/Disc 1/01 Pink Noise.flac')!;
    assert.equal(track.albumId, compilation.id);
    first.close();
    const second = await run(root, dataDir);
    assert.deepEqual(second.library.store.albums(), albums);
    assert.deepEqual(second.library.store.artists(), artists);
    const found = second.library.store.search('noise');
    assert.ok(found.length >= 3 && found.every((t) => /noise/i.test(`${t.title} ${t.artist} ${t.album}`)), JSON.stringify(found));
    assert.deepEqual(second.library.store.search('100%_\\'), [], 'LIKE wildcards in the text are taken literally');
  });

  test('--rescan-now reads every file again and forgets every hash', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    await writeTaggedLibrary(root, 1);
    const dataDir = path.join(await harness.tempDir(), 'data');
    const first = await run(root, dataDir);
    for (const entry of first.library.current.entries) await first.library.sha256(entry);
    first.close();
    const second = await run(root, dataDir, { rescanNow: true });
    assert.equal(second.library.tagFilesRead, 10);
    assert.ok(records(second.library).every((r) => r.sha256 === undefined && r.codec));
    const fully = await second.library.rescanFully();
    await second.library.tagsSettled();
    assert.equal(fully, second.library.current, 'an unchanged full rescan keeps the snapshot');
    assert.equal(second.library.tagFilesRead, 20, 'a full rescan (SIGHUP) reads every file again');
  });
});

describe('a database file that cannot be used', () => {
  async function withFile(write: (file: string) => void | Promise<void>): Promise<{ dataDir: string; file: string; original: Buffer }> {
    const dataDir = path.join(await harness.tempDir(), 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, DATABASE_FILE_NAME);
    await write(file);
    return { dataDir, file, original: fs.readFileSync(file) };
  }

  /** The file is moved aside with a dated name (kept byte for byte), one line is logged, a new one works. */
  async function assertSetAside(dataDir: string, original: Buffer, reason: RegExp, kind: string): Promise<void> {
    const root = await harness.library();
    await writeTaggedLibrary(root, 1);
    const { library, setAside } = await run(root, dataDir, { readTags: false });
    assert.equal(setAside.length, 1, 'one log line');
    assert.match(setAside[0]!, reason);
    const aside = fs.readdirSync(dataDir).filter((n) => n.startsWith(`${DATABASE_FILE_NAME}.${kind}-`));
    assert.equal(aside.length, 1, fs.readdirSync(dataDir).join(' '));
    assert.match(aside[0]!, /\.\w+-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    assert.ok(fs.readFileSync(path.join(dataDir, aside[0]!)).equals(original), 'the old file is kept, not wiped');
    assert.equal(library.current.entries.length, 10);
    assert.equal(library.store.counts().files, 10, 'a new database was made and filled');
  }

  test('garbage in place of the database', async () => {
    const { dataDir, original } = await withFile((file) => fs.writeFileSync(file, 'this is not a database, just some text\n'.repeat(200)));
    await assertSetAside(dataDir, original, /is damaged or not a database/, 'corrupt');
  });

  test('a truncated database', { timeout: 30_000 }, async () => {
    const { dataDir, original } = await withFile(async (file) => {
      const root = await harness.library();
      await writeTaggedLibrary(root, 20);
      const scratch = path.join(await harness.tempDir(), 'data');
      const full = await run(root, scratch, { readTags: false });
      full.database.db.pragma('wal_checkpoint(TRUNCATE)');
      full.close();
      const bytes = fs.readFileSync(path.join(scratch, DATABASE_FILE_NAME));
      assert.ok(bytes.length > 16 * 4096, `${bytes.length} bytes`);
      fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    });
    await assertSetAside(dataDir, original, /is damaged or not a database/, 'corrupt');
  });

  test('a truncated database that was closed cleanly (its length is checked against its header at every open)', { timeout: 30_000 }, async () => {
    const { dataDir, original } = await withFile(async (file) => {
      const root = await harness.library();
      await writeTaggedLibrary(root, 20);
      const scratch = path.join(await harness.tempDir(), 'data');
      const full = await run(root, scratch, { readTags: false });
      full.close();
      const bytes = fs.readFileSync(path.join(scratch, DATABASE_FILE_NAME));
      assert.ok(bytes.length > 16 * 4096, `${bytes.length} bytes`);
      // Whole pages cut off the end: SQLite would open it without a word.
      fs.writeFileSync(file, bytes.subarray(0, bytes.length - 4 * 4096));
      fs.writeFileSync(file + CLEAN_CLOSE_MARK_SUFFIX, '');
    });
    await assertSetAside(dataDir, original, /is damaged or not a database .*truncated/, 'corrupt');
  });

  test('a database damaged inside while the server ran is checked page by page at the next open (no clean-close mark)', { timeout: 30_000 }, async () => {
    const { dataDir, original } = await withFile(async (file) => {
      const root = await harness.library();
      await writeTaggedLibrary(root, 20);
      const scratch = path.join(await harness.tempDir(), 'data');
      const full = await run(root, scratch, { readTags: false });
      full.close();
      const bytes = Buffer.from(fs.readFileSync(path.join(scratch, DATABASE_FILE_NAME)));
      // Every page after the schema's scribbled over (the length stays right).
      for (let at = 2 * 4096; at < bytes.length; at += 4096) bytes.fill(0x5a, at, at + 64);
      fs.writeFileSync(file, bytes);
    });
    await assertSetAside(dataDir, original, /is damaged or not a database/, 'corrupt');
  });

  test("another program's SQLite database", async () => {
    const { dataDir, original } = await withFile((file) => {
      const other = new Database(file);
      other.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')");
      other.close();
    });
    await assertSetAside(dataDir, original, /belongs to another program/, 'foreign');
  });

  test('a database from a newer version', async () => {
    const { dataDir, original } = await withFile(async (file) => {
      const newer = new Database(file);
      newer.pragma('application_id = 1095976002'); // ours ("ASDB")
      newer.pragma('user_version = 99');
      newer.close();
    });
    await assertSetAside(dataDir, original, /was written by a newer version/, 'newer');
  });

  test('a library schema from a newer version', async () => {
    const { dataDir, original } = await withFile(async (file) => {
      const db = ServerDatabase.open(path.dirname(file));
      db.db.prepare('INSERT INTO schema_versions (component, version) VALUES (?, ?)').run(LIBRARY_COMPONENT, LIBRARY_MIGRATIONS.length + 1);
      db.db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    });
    await assertSetAside(dataDir, original, /was written by a newer version/, 'newer');
  });

  test('a data directory that cannot be made is a DATABASE_UNAVAILABLE error, not a crash', async () => {
    const blocker = path.join(await harness.tempDir(), 'a-file');
    fs.writeFileSync(blocker, 'x');
    assert.throws(() => ServerDatabase.open(path.join(blocker, 'data')), { code: 'DATABASE_UNAVAILABLE' });
  });
});

describe('schema migrations', () => {
  test('a database of schema version 1 is migrated: tags and ids kept, albums and artists derived', async () => {
    const dataDir = path.join(await harness.tempDir(), 'data');
    const old = ServerDatabase.open(dataDir, { components: { [LIBRARY_COMPONENT]: LIBRARY_MIGRATIONS.slice(0, 1) } });
    assert.equal(old.schemaVersion(LIBRARY_COMPONENT), 1);
    const insert = old.db.prepare(
      `INSERT INTO files (path, size, mtime_ms, ctime_ms, inode, dev, tags_read, title, artist, album, album_artist, codec)
       VALUES (?, 10, 1000.5, 1000.5, ?, 1, 1, ?, ?, ?, ?, 'MPEG 1 Layer 3')`,
    );
    insert.run('a/1.mp3', 11, 'One', 'Ann', 'First', null);
    insert.run('a/2.mp3', 12, 'Two', 'Bob', 'Mixed', 'Various');
    insert.run('a/3.mp3', 13, 'Three', 'Cid', 'Mixed', 'Various');
    old.db.prepare("INSERT INTO library_meta (key, value) VALUES ('root', '/music')").run();
    const ids = old.db.prepare('SELECT path, id FROM files ORDER BY path').all();
    old.close();

    const database = ServerDatabase.open(dataDir);
    const store = new LibraryStore(database);
    harness.defer(async () => database.close());
    assert.equal(database.schemaVersion(LIBRARY_COMPONENT), LIBRARY_MIGRATIONS.length);
    assert.deepEqual(database.db.prepare('SELECT path, id FROM files ORDER BY path').all(), ids);
    assert.deepEqual(
      store.albums().map((a) => [a.name, a.artist, a.tracks]),
      [
        ['First', 'Ann', 1],
        ['Mixed', 'Various', 2],
      ],
    );
    assert.deepEqual(store.artists().map((a) => a.name), ['Ann', 'Bob', 'Cid', 'Various']);
    const known = [...store.knownEntries('/music')];
    assert.deepEqual(
      known.map((e) => e.path),
      ['a/1.mp3', 'a/2.mp3', 'a/3.mp3'],
    );
    assert.deepEqual(store.tags(known[1]!), { title: 'Two', artist: 'Bob', album: 'Mixed', albumArtist: 'Various', codec: 'MPEG 1 Layer 3' });
  });

  test('schema 4: Ogg Vorbis and Opus files stored without a duration are read again by the next tag pass; others are not', async () => {
    const dataDir = path.join(await harness.tempDir(), 'data');
    const old = ServerDatabase.open(dataDir, { components: { [LIBRARY_COMPONENT]: LIBRARY_MIGRATIONS.slice(0, 3) } });
    const insert = old.db.prepare(
      'INSERT INTO files (path, size, mtime_ms, ctime_ms, inode, dev, tags_read, title, codec, duration) VALUES (?, 10, 1000, 1000, ?, 1, 1, ?, ?, ?)',
    );
    insert.run('long.ogg', 1, 'Long Vorbis', 'Vorbis I', null);
    insert.run('long.opus', 2, 'Long Opus', 'Opus', null);
    insert.run('short.ogg', 3, 'Short Vorbis', 'Vorbis I', 0.5);
    insert.run('a.mp3', 4, 'No duration, not Ogg', 'MPEG 1 Layer 3', null);
    old.db.prepare("INSERT INTO library_meta (key, value) VALUES ('saved_snapshot', 'token')").run();
    old.close();

    const database = ServerDatabase.open(dataDir);
    harness.defer(async () => database.close());
    const store = new LibraryStore(database);
    assert.deepEqual([...store.untaggedPaths()].sort(), ['long.ogg', 'long.opus']);
    assert.equal(database.db.prepare("SELECT count(*) FROM library_meta WHERE key = 'saved_snapshot'").pluck().get(), 0, 'the saved snapshot no longer counts');
  });

  test('another component migrates its own tables in the same database, independently', async () => {
    const dataDir = path.join(await harness.tempDir(), 'data');
    const accounts = [
      { version: 1, description: 'users', up: (db: Database.Database) => db.exec('CREATE TABLE users (name TEXT PRIMARY KEY) STRICT') },
    ];
    const first = ServerDatabase.open(dataDir, { components: { accounts } });
    new LibraryStore(first);
    first.db.prepare("INSERT INTO users VALUES ('ann')").run();
    first.close();
    const second = ServerDatabase.open(dataDir, {
      components: { accounts: [...accounts, { version: 2, description: 'roles', up: (db) => db.exec("ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'") }] },
    });
    harness.defer(async () => second.close());
    assert.equal(second.schemaVersion('accounts'), 2);
    assert.equal(second.schemaVersion(LIBRARY_COMPONENT), LIBRARY_MIGRATIONS.length);
    assert.deepEqual(second.db.prepare('SELECT name, role FROM users').all(), [{ name: 'ann', role: 'user' }]);
  });
});
