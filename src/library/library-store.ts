import type Database from 'better-sqlite3';
import type { V2Entry } from '../protocol/index.js';
import { ServerDatabase, type Migration, type OpenDatabaseOptions } from './database.js';
import { ListingReplyCache, MAX_CACHED_LISTING_BYTES } from './listing-reply-cache.js';
import { ListingSpill } from './listing-spill.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { PackedEntries, PackedEntriesBuilder, type EntrySequence } from './packed-entries.js';
import { SavedListing, listingFile, readSavedSnapshot, removeSaved, snapshotFile, writeSaved } from './saved-snapshot.js';
import type { LibraryEntry } from './scan.js';
import type { AudioTags } from './tag-reader.js';
import { limitTagText } from './tag-text-limit.js';
import { holdYoungGeneration } from './young-generation.js';

/** The library's component name in `schema_versions`. */
export const LIBRARY_COMPONENT = 'library';

/**
 * The library's schema, one step per version. A step is never edited once released: a
 * change is a new step, so every older file is brought forward in place (tags kept).
 */
export const LIBRARY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'files: stat, tags and SHA-256 per file, with a stable id',
    up(db) {
      db.exec(`
        CREATE TABLE library_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
        -- AUTOINCREMENT: an id is never reused, even after the file with the highest id goes.
        CREATE TABLE files (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          path TEXT NOT NULL UNIQUE,
          size INTEGER NOT NULL,
          mtime_ms REAL NOT NULL,
          ctime_ms REAL NOT NULL,
          inode INTEGER NOT NULL,
          dev INTEGER NOT NULL,
          -- Tags and hash describe the file under the stat above; a scan that sees another
          -- stat clears them in the same statement that records it.
          tags_read INTEGER NOT NULL DEFAULT 0,
          title TEXT, artist TEXT, album TEXT, album_artist TEXT,
          track INTEGER, disc INTEGER, year INTEGER, genre TEXT,
          duration REAL, codec TEXT, sample_rate INTEGER, bitrate INTEGER,
          picture INTEGER,
          sha256 TEXT
        ) STRICT;
      `);
    },
  },
  {
    version: 2,
    description: 'artists and albums derived from tags (album artist first), with stable ids',
    up(db) {
      db.exec(`
        CREATE TABLE artists (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE) STRICT;
        CREATE TABLE albums (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          artist_id INTEGER NOT NULL REFERENCES artists (id),
          name TEXT NOT NULL,
          UNIQUE (artist_id, name)
        ) STRICT;
        ALTER TABLE files ADD COLUMN artist_id INTEGER REFERENCES artists (id);
        ALTER TABLE files ADD COLUMN album_id INTEGER REFERENCES albums (id);
        CREATE INDEX files_album ON files (album_id);
        CREATE INDEX files_artist ON files (artist_id);
        INSERT OR IGNORE INTO artists (name)
          SELECT coalesce(album_artist, artist) FROM files WHERE coalesce(album_artist, artist) IS NOT NULL
          UNION SELECT artist FROM files WHERE artist IS NOT NULL;
        INSERT OR IGNORE INTO albums (artist_id, name)
          SELECT a.id, f.album FROM files f JOIN artists a ON a.name = coalesce(f.album_artist, f.artist) WHERE f.album IS NOT NULL;
        UPDATE files SET
          artist_id = (SELECT id FROM artists WHERE name = coalesce(files.artist, files.album_artist)),
          album_id = (SELECT al.id FROM albums al JOIN artists a ON a.id = al.artist_id
                      WHERE a.name = coalesce(files.album_artist, files.artist) AND al.name = files.album);
      `);
    },
  },
  {
    version: 3,
    description: "each file's LIST2 line, kept ready so a listing is read, not rebuilt",
    up(db) {
      // NULL: not made yet; listings then build the line from the columns.
      db.exec('ALTER TABLE files ADD COLUMN listing TEXT');
      // Path and stat alone, in path order: a restart reads its snapshot from this index
      // without touching the wide rows (tags and lines) at all.
      db.exec('CREATE INDEX files_stat ON files (path, size, mtime_ms, ctime_ms, inode, dev)');
    },
  },
  {
    version: 4,
    description: 'Ogg Vorbis and Opus files read without a duration are read again (it now comes from the last page)',
    up(db) {
      // Marked unread: the next tag pass reads just these. The saved snapshot's listing
      // would show them as read, so it goes too (saved-snapshot.ts).
      db.exec(`UPDATE files SET tags_read = 0 WHERE tags_read = 1 AND duration IS NULL AND codec IN ('Vorbis I', 'Opus');
               DELETE FROM library_meta WHERE key = 'saved_snapshot';`);
    },
  },
];

/**
 * Opens the server database in `dataDir` with the library's schema brought up to date at
 * open (a library schema newer than this program sets the file aside there, like any
 * unusable file), plus whatever other components pass their migrations.
 */
export function openLibraryDatabase(dataDir: string, options: OpenDatabaseOptions = {}): ServerDatabase {
  return ServerDatabase.open(dataDir, { ...options, components: { [LIBRARY_COMPONENT]: LIBRARY_MIGRATIONS, ...options.components } });
}

/** What a reconciliation found, for the log. */
export interface ReconcileCounts {
  files: number;
  added: number;
  changed: number;
  renamed: number;
  removed: number;
}

/** The identity a fact is stored under: the file's path and stat when it was read. */
export type FileIdentity = Pick<LibraryEntry, 'path' | 'size' | 'mtimeMs' | 'ctimeMs' | 'ino' | 'dev'>;

export interface TrackRow {
  id: number;
  path: string;
  title?: string;
  artist?: string;
  album?: string;
  albumId?: number;
  artistId?: number;
}

export interface AlbumRow {
  id: number;
  name: string;
  artistId: number;
  artist: string;
  tracks: number;
}

export interface ArtistRow {
  id: number;
  name: string;
}

/** Tag reads are written in one transaction per this many files (or per TAG_FLUSH_MS). */
const TAG_BATCH = 500;
/** library_meta's key for the saved snapshot's token (saved-snapshot.ts). */
const SAVED_SNAPSHOT_KEY = 'saved_snapshot';
const TAG_FLUSH_MS = 200;
/** Paths looked up per query when building listing records. */
const RECORD_BATCH = 1000;
/** Longest search text and most results (every length limited). */
export const MAX_SEARCH_TEXT = 256;
export const MAX_SEARCH_RESULTS = 500;

const RECORD_COLUMNS = 'path, size, mtime_ms, ctime_ms, inode, dev, tags_read, title, artist, album, track, duration, codec, sample_rate, bitrate, sha256';
/** A file's path and stat, as positional parameters (see statValues): named ones cost several times more to bind. */
const IS_FILE = 'path = ? AND size = ? AND mtime_ms = ? AND ctime_ms = ? AND inode = ? AND dev = ?';
const CLEAR_FACTS = 'tags_read = 0, title = NULL, artist = NULL, album = NULL, album_artist = NULL, track = NULL, disc = NULL, year = NULL, genre = NULL, duration = NULL, codec = NULL, sample_rate = NULL, bitrate = NULL, picture = NULL, sha256 = NULL, artist_id = NULL, album_id = NULL, listing = NULL';

type StatRow = [id: number, path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, dev: number];
type RecordRow = [
  path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, dev: number, tagsRead: number,
  title: string | null, artist: string | null, album: string | null, track: number | null, duration: number | null,
  codec: string | null, sampleRate: number | null, bitrate: number | null, sha256: string | null,
];

/**
 * The library's tables in the server database: what each file is (path and stat, with a
 * stable id), what was read from it (tags, SHA-256), and the albums and artists its tags
 * name. Every fact is written keyed to the stat it was read under, so a fact read from a
 * file that has changed since is dropped, never stored against the new file.
 */
export class LibraryStore {
  readonly database: ServerDatabase;
  private readonly db: Database.Database;
  private readonly pendingTags = new Map<string, { identity: FileIdentity; tags: AudioTags }>();
  /** Tag passes' batches not yet written (putTagsBatch), and how many files they hold. */
  private pendingBatches: { identities: readonly FileIdentity[]; tags: readonly (AudioTags | undefined)[] }[] = [];
  private pendingBatchFiles = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Ids of artists and albums already in the table (few, next to files), to skip their upserts. */
  private readonly artistIds = new Map<string, number>();
  private readonly albumIds = new Map<string, number>();
  private readonly statements;
  /** The encoded LIST2 reply of the last snapshot listed, dropped by every write that shows in one. */
  private readonly listingCache = new ListingReplyCache();
  /** Counts the writes that change what a listing says, so a reply built across one is not kept. */
  private listingWrites = 0;
  /** The database holds the token of a saved snapshot (saved-snapshot.ts), valid until the next write. */
  private snapshotSaved: boolean;

  constructor(database: ServerDatabase) {
    this.database = database;
    this.db = database.db;
    database.migrate(LIBRARY_COMPONENT, LIBRARY_MIGRATIONS);
    const db = this.db;
    this.statements = {
      allStats: db.prepare('SELECT id, path, size, mtime_ms, ctime_ms, inode, dev FROM files').raw(true),
      allStatsByPath: db.prepare('SELECT path, size, mtime_ms, ctime_ms, inode, dev FROM files INDEXED BY files_stat ORDER BY path').raw(true),
      insert: db.prepare('INSERT INTO files (path, size, mtime_ms, ctime_ms, inode, dev) VALUES (?, ?, ?, ?, ?, ?)'),
      updateStat: db.prepare(`UPDATE files SET size = @size, mtime_ms = @mtimeMs, ctime_ms = @ctimeMs, inode = @ino, dev = @dev, ${CLEAR_FACTS} WHERE id = @id`),
      rename: db.prepare(`UPDATE files SET path = @path, size = @size, mtime_ms = @mtimeMs, ctime_ms = @ctimeMs, inode = @ino, dev = @dev, ${CLEAR_FACTS} WHERE id = @id`),
      remove: db.prepare('DELETE FROM files WHERE id = ?'),
      untagged: db.prepare('SELECT path FROM files WHERE tags_read = 0').pluck(),
      tags: db.prepare(
        `SELECT title, artist, album, album_artist, track, disc, year, genre, duration, codec, sample_rate, bitrate, picture FROM files WHERE tags_read = 1 AND ${IS_FILE}`,
      ).raw(true),
      // Positional parameters: binding twenty named ones per file cost more than the update.
      // The line is stored as given unless a hash is already known (rare before the tags):
      // json_patch on every row, to add a key that is almost never there, cost more than
      // the rest of the update (CPU profile of a first start, docs/BENCHMARKS.md scenario 11).
      putTags: db.prepare(
        // (better-sqlite3 binds a numbered parameter, ?16, as a named one, from an object: the line is passed twice instead.)
        `UPDATE files SET tags_read = 1, title = ?, artist = ?, album = ?, album_artist = ?, track = ?, disc = ?, year = ?, genre = ?,
         duration = ?, codec = ?, sample_rate = ?, bitrate = ?, picture = ?, artist_id = ?, album_id = ?,
         listing = CASE WHEN sha256 IS NULL THEN ? ELSE json_set(?, '$.sha256', sha256) END
         WHERE ${IS_FILE}`,
      ),
      artistId: db.prepare('INSERT INTO artists (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id').pluck(),
      albumId: db.prepare('INSERT INTO albums (artist_id, name) VALUES (?, ?) ON CONFLICT (artist_id, name) DO UPDATE SET name = excluded.name RETURNING id').pluck(),
      sha256: db.prepare(`SELECT sha256 FROM files WHERE ${IS_FILE}`).pluck(),
      putSha256: db.prepare(
        // Every SET reads the row as it was, so the hash is passed twice.
        `UPDATE files SET sha256 = ?, listing = json_set(listing, '$.sha256', ?) WHERE ${IS_FILE}`,
      ),
      clearHashes: db.prepare("UPDATE files SET sha256 = NULL, listing = json_remove(listing, '$.sha256')"),
      // Keyset pages in the path index's order, which is a scan's order for every path
      // whose characters are all in the Basic Multilingual Plane (see records()).
      recordPage: db.prepare(
        `SELECT ${RECORD_COLUMNS} FROM files WHERE path > ? ORDER BY path LIMIT ${RECORD_BATCH}`,
      ).raw(true),
      record: db.prepare(`SELECT ${RECORD_COLUMNS} FROM files WHERE path = ?`).raw(true),
      linePage: db.prepare(
        `SELECT path, size, mtime_ms, ctime_ms, inode, dev, listing, tags_read = 1 OR sha256 IS NOT NULL FROM files WHERE path > ? ORDER BY path LIMIT ${RECORD_BATCH}`,
      ).raw(true),
      dropOrphanAlbums: db.prepare('DELETE FROM albums WHERE id NOT IN (SELECT album_id FROM files WHERE album_id IS NOT NULL)'),
      dropOrphanArtists: db.prepare(
        'DELETE FROM artists WHERE id NOT IN (SELECT artist_id FROM files WHERE artist_id IS NOT NULL UNION SELECT artist_id FROM albums)',
      ),
      meta: db.prepare('SELECT value FROM library_meta WHERE key = ?').pluck(),
      putMeta: db.prepare('INSERT INTO library_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      count: db.prepare('SELECT count(*) FROM files').pluck(),
      forgetSnapshot: db.prepare(`DELETE FROM library_meta WHERE key = '${SAVED_SNAPSHOT_KEY}'`),
      tagged: db.prepare('SELECT count(*) FROM files WHERE tags_read = 1').pluck(),
      track: db.prepare('SELECT id, path, title, artist, album, album_id, artist_id FROM files WHERE path = ?'),
      trackById: db.prepare('SELECT id, path, title, artist, album, album_id, artist_id FROM files WHERE id = ?'),
      albums: db.prepare(
        'SELECT al.id, al.name, al.artist_id, ar.name AS artist, (SELECT count(*) FROM files f WHERE f.album_id = al.id) AS tracks FROM albums al JOIN artists ar ON ar.id = al.artist_id ORDER BY ar.name, al.name',
      ),
      artists: db.prepare('SELECT id, name FROM artists ORDER BY name'),
      search: db.prepare(
        `SELECT id, path, title, artist, album, album_id, artist_id FROM files
         WHERE title LIKE @pattern ESCAPE '\\' OR artist LIKE @pattern ESCAPE '\\' OR album LIKE @pattern ESCAPE '\\' OR album_artist LIKE @pattern ESCAPE '\\'
         ORDER BY path LIMIT @limit`,
      ),
    };
    this.snapshotSaved = this.statements.meta.get(SAVED_SNAPSHOT_KEY) !== undefined;
  }

  /**
   * The files as the database last knew them, packed, sorted as a scan sorts them, for
   * `root`; empty when the database was made for another library (its rows are replaced by
   * the first scan). After a clean stop this is one value read back, with the LIST2 reply
   * of the time kept ready for the first listing; otherwise it is read from the stat index.
   */
  knownEntries(root: string): PackedEntries {
    const prefix = root.endsWith('/') ? root : root + '/';
    if (this.statements.meta.get('root') !== root) return new PackedEntriesBuilder(prefix).finish();
    const token = this.snapshotSaved ? (this.statements.meta.get(SAVED_SNAPSHOT_KEY) as string | undefined) : undefined;
    const packed = token === undefined ? undefined : readSavedSnapshot(snapshotFile(this.database.file), token, prefix);
    if (token !== undefined && packed) {
      const listing = SavedListing.open(listingFile(this.database.file), token);
      if (listing) this.listingCache.keepReadable(packed, (mayReuse) => listing.pieces(mayReuse), () => listing.close());
      return packed;
    }
    // Row by row into the packed form: no object per file, no array of rows. SQLite orders
    // by UTF-8 bytes, a scan by UTF-16 code units (the same but for characters beyond the
    // Basic Multilingual Plane): the builder sorts only when one shows up.
    const builder = new PackedEntriesBuilder(prefix);
    for (const [path, size, mtimeMs, ctimeMs, ino, dev] of this.statements.allStatsByPath.iterate() as IterableIterator<StatRow extends [unknown, ...infer Rest] ? Rest : never>) {
      builder.add({ path, size, mtimeMs, ctimeMs, ino, dev });
    }
    return builder.finish();
  }

  /** Where replies too large for the heap are kept while they are current (listing-spill.ts): beside the database. */
  get spillDirectory(): string | undefined {
    return this.database.file === ':memory:' ? undefined : path.dirname(this.database.file);
  }

  /**
   * Keeps `files` (the snapshot the files table holds now) and its LIST2 reply for the next
   * start, at a clean stop: the next start reads two values instead of every row. Both are
   * deleted before the next write that would make them stale (see forgetSavedSnapshot).
   */
  saveSnapshot(files: PackedEntries): void {
    if (this.database.file === ':memory:' || !this.db.open) return;
    this.flushTags();
    if (this.snapshotSaved) return; // nothing was written since the saved one: it still holds

    const token = randomBytes(16).toString('hex');
    try {
      writeSaved(snapshotFile(this.database.file), token, files.pieces());
      // Each piece is written out before the next is asked for: one buffer serves them all.
      writeSaved(listingFile(this.database.file), token, this.listingReply(files, () => true));
    } catch {
      removeSaved(this.database.file); // a full disk, say: the next start reads the rows
      return;
    }
    this.statements.putMeta.run(SAVED_SNAPSHOT_KEY, token);
    this.snapshotSaved = true;
  }

  /**
   * Before (or in the transaction of) any write that changes the files or what a listing
   * says: the database forgets the saved snapshot's token, so the files are never read again.
   */
  private forgetSavedSnapshot(): void {
    if (!this.snapshotSaved) return;
    this.statements.forgetSnapshot.run();
    this.snapshotSaved = false;
    removeSaved(this.database.file);
  }

  /**
   * Brings the files table in line with a scan of `root`, in one transaction: unchanged files
   * keep everything; a changed stat (size, mtime, ctime, inode or device) forgets the file's
   * tags and hash; a new path whose inode, device, size and mtime match a vanished one is that
   * file renamed and keeps its id; the rest are added or removed.
   */
  reconcile(root: string, entries: EntrySequence): ReconcileCounts {
    const counts: ReconcileCounts = { files: entries.length, added: 0, changed: 0, renamed: 0, removed: 0 };
    const s = this.statements;
    this.flushTags();
    this.db.transaction(() => {
      this.forgetSavedSnapshot();
      if (s.count.get() === 0 && entries instanceof PackedEntries) {
        // A first start: every file is new. Straight from the packed snapshot into one
        // prepared insert, with no entry object, map or list of positions on the way.
        for (let i = 0; i < entries.length; i++) s.insert.run(entries.path(i), ...entries.statAt(i));
        counts.added = entries.length;
        s.putMeta.run('root', root);
        return;
      }
      const known = new Map<string, StatRow>();
      for (const row of s.allStats.all() as StatRow[]) known.set(row[1], row);
      // Positions, not entries: on a first start every file is new, and 100,000 entry
      // objects held until the inserts would be most of that start's peak memory. Each
      // entry is made again (from the packed snapshot) when its turn comes.
      const fresh: number[] = [];
      for (let i = 0; i < entries.length; i++) {
        const entry = entries.at(i)!;
        const row = known.get(entry.path);
        if (!row) {
          fresh.push(i);
          continue;
        }
        known.delete(entry.path);
        const [id, , size, mtimeMs, ctimeMs, ino, dev] = row;
        if (size !== entry.size || mtimeMs !== entry.mtimeMs || ctimeMs !== entry.ctimeMs || ino !== entry.ino || dev !== entry.dev) {
          s.updateStat.run({ id, ...statOf(entry) });
          counts.changed++;
        }
      }
      // What is left in `known` has vanished from its path: renamed, or gone.
      const vanished = new Map<string, StatRow>();
      for (const row of known.values()) vanished.set(renameKey(row[6], row[5], row[2], row[3]), row);
      for (const i of fresh) {
        const entry = entries.at(i)!;
        const key = renameKey(entry.dev, entry.ino, entry.size, entry.mtimeMs);
        const row = vanished.get(key);
        if (row) {
          vanished.delete(key);
          known.delete(row[1]);
          // The id stays; the content cannot be vouched for (a rename moves ctime, the same
          // as a rewrite does), so its tags and hash are read again.
          s.rename.run({ id: row[0], path: entry.path, ...statOf(entry) });
          counts.renamed++;
        } else {
          s.insert.run(...statValues(entry));
          counts.added++;
        }
      }
      for (const row of known.values()) {
        s.remove.run(row[0]);
        counts.removed++;
      }
      s.putMeta.run('root', root);
    })();
    this.listingChanged();
    return counts;
  }

  /** Paths whose tags have not been read under their current stat, one at a time. */
  *untaggedPathsIterator(): Generator<string> {
    this.flushTags();
    yield* this.statements.untagged.iterate() as IterableIterator<string>;
  }

  /** Paths whose tags have not been read under their current stat. */
  untaggedPaths(): Set<string> {
    this.flushTags();
    return new Set(this.statements.untagged.all() as string[]);
  }

  /** The file's tags, if they were read under exactly this stat. */
  tags(identity: FileIdentity): AudioTags | undefined {
    const pending = this.pendingTags.get(identity.path);
    if (pending && sameStat(pending.identity, identity)) return pending.tags;
    const row = this.statements.tags.get(...statValues(identity)) as (string | number | null)[] | undefined;
    if (!row) return undefined;
    const [title, artist, album, albumArtist, track, disc, year, genre, duration, codec, sampleRate, bitrate, picture] = row;
    const tags: AudioTags = {};
    if (title !== null) tags.title = title as string;
    if (artist !== null) tags.artist = artist as string;
    if (album !== null) tags.album = album as string;
    if (track !== null) tags.track = track as number;
    if (albumArtist !== null) tags.albumArtist = albumArtist as string;
    if (disc !== null) tags.disc = disc as number;
    if (year !== null) tags.year = year as number;
    if (genre !== null) tags.genre = genre as string;
    if (picture === 1) tags.picture = true;
    if (duration !== null) tags.duration = duration as number;
    if (codec !== null) tags.codec = codec as string;
    if (sampleRate !== null) tags.sampleRate = sampleRate as number;
    if (bitrate !== null) tags.bitrate = bitrate as number;
    return tags;
  }

  /**
   * Records tags read from a file under `identity`. Writes are gathered into one transaction
   * per few hundred files: a crash loses at most that batch, which the next start reads again.
   */
  putTags(identity: FileIdentity, tags: AudioTags): void {
    this.pendingTags.set(identity.path, { identity, tags });
    this.scheduleFlush();
  }

  /** Writes the tag reads gathered so far. */
  flushTags(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if ((this.pendingTags.size === 0 && this.pendingBatches.length === 0) || !this.db.open) return;
    const identities: FileIdentity[] = [];
    const tags: AudioTags[] = [];
    for (const pending of this.pendingTags.values()) {
      identities.push(pending.identity);
      tags.push(pending.tags);
    }
    const batches = this.pendingBatches;
    batches.push({ identities, tags });
    this.pendingTags.clear();
    this.pendingBatches = [];
    this.pendingBatchFiles = 0;
    this.writeTags(batches);
  }

  /**
   * Records a batch of tag reads, each `tags[i]` read under `identities[i]` (an `undefined`
   * is skipped: nothing was read): what a tag pass does with each batch a worker sends back.
   * Batches are written together, like putTags' files, in one transaction per TAG_BATCH
   * files or TAG_FLUSH_MS (a commit per worker batch of 64 cost more than the updates in it);
   * a crash loses at most those. Until then, `tags()` does not see them (a read asked for
   * meanwhile reads the file again); listings, records and `untaggedPaths` write them first.
   */
  putTagsBatch(identities: readonly FileIdentity[], tags: readonly (AudioTags | undefined)[]): void {
    this.pendingBatches.push({ identities, tags });
    this.pendingBatchFiles += identities.length;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.pendingTags.size + this.pendingBatchFiles >= TAG_BATCH) this.flushTags();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flushTags(), TAG_FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  private writeTags(batches: readonly { identities: readonly FileIdentity[]; tags: readonly (AudioTags | undefined)[] }[]): void {
    this.listingChanged();
    // Foreign keys are not checked for these rows: every artist and album id comes from an
    // upsert in this same transaction or from the id caches (which dropOrphans, the only
    // deleter, empties), and the two lookups per row were a fifth of a first start's tag
    // writes (docs/BENCHMARKS.md, scenario 11). SQLite ignores the pragma inside a
    // transaction, so a nested call keeps the checks.
    const checkKeys = !this.db.inTransaction;
    if (checkKeys) this.db.pragma('foreign_keys = OFF');
    try {
      this.db.transaction(() => this.writeTagRows(batches))();
    } finally {
      if (checkKeys) this.db.pragma('foreign_keys = ON');
    }
  }

  private writeTagRows(batches: readonly { identities: readonly FileIdentity[]; tags: readonly (AudioTags | undefined)[] }[]): void {
    const s = this.statements;
    this.forgetSavedSnapshot();
    for (const { identities, tags } of batches) for (let i = 0; i < identities.length; i++) {
      const read = tags[i];
      if (read === undefined) continue;
      const identity = identities[i]!;
      // Album artist first: a compilation is one album, not one per track artist.
      const albumArtist = read.albumArtist ?? read.artist;
      const trackArtist = read.artist ?? read.albumArtist;
      const albumArtistId = albumArtist === undefined ? null : this.artistId(albumArtist);
      const artistId = trackArtist === undefined ? null : trackArtist === albumArtist ? albumArtistId : this.artistId(trackArtist);
      const albumId = read.album === undefined || albumArtistId === null ? null : this.albumId(albumArtistId, read.album);
      const line = JSON.stringify(withTags({ path: identity.path, size: identity.size, mtime: Math.round(identity.mtimeMs) }, read));
      s.putTags.run(
        read.title ?? null,
        read.artist ?? null,
        read.album ?? null,
        read.albumArtist ?? null,
        read.track ?? null,
        read.disc ?? null,
        read.year ?? null,
        read.genre ?? null,
        read.duration ?? null,
        read.codec ?? null,
        read.sampleRate ?? null,
        read.bitrate ?? null,
        read.picture ? 1 : 0,
        artistId,
        albumId,
        line,
        line,
        identity.path,
        identity.size,
        identity.mtimeMs,
        identity.ctimeMs,
        identity.ino,
        identity.dev,
      );
    }
  }

  private artistId(name: string): number {
    let id = this.artistIds.get(name);
    if (id === undefined) this.artistIds.set(name, (id = this.statements.artistId.get(name) as number));
    return id;
  }

  private albumId(artistId: number, name: string): number {
    const key = `${artistId}\0${name}`;
    let id = this.albumIds.get(key);
    if (id === undefined) this.albumIds.set(key, (id = this.statements.albumId.get(artistId, name) as number));
    return id;
  }

  /** The file's SHA-256, if it was computed under exactly this stat. */
  sha256(identity: FileIdentity): string | undefined {
    return (this.statements.sha256.get(...statValues(identity)) as string | null | undefined) ?? undefined;
  }

  /** Records a SHA-256 computed under `identity`; false when the database knows the file under another stat. */
  putSha256(identity: FileIdentity, sha256: string): boolean {
    this.forgetSavedSnapshot();
    const stored = this.statements.putSha256.run(sha256, sha256, ...statValues(identity)).changes > 0;
    if (stored) this.listingChanged();
    return stored;
  }

  /** Forgets every SHA-256 (a forced full rescan recomputes them on demand). */
  clearHashes(): void {
    this.forgetSavedSnapshot();
    this.statements.clearHashes.run();
    this.listingChanged();
  }

  private listingChanged(): void {
    this.listingWrites++;
    this.listingCache.drop();
  }

  /**
   * The LIST2 reply body of `entries` (a snapshot's), encoded, in chunks of a thousand lines:
   * the cached reply when neither the snapshot nor the database changed since it was built,
   * else read from the database (listingLines) and kept if no write landed meanwhile.
   */
  *listingReply(entries: EntrySequence, mayReuse: () => boolean = () => false): Generator<Buffer> {
    this.flushTags(); // tags read but not yet written belong in the reply
    const cached = this.listingCache.get(entries);
    if (cached) {
      yield* cached(mayReuse);
      return;
    }
    const writesBefore = this.listingWrites;
    // Kept for the next listings in a file beside the database, or (an in-memory database,
    // or no file could be made) in memory up to a bound.
    const spill = this.spillDirectory === undefined ? undefined : ListingSpill.open(this.spillDirectory);
    let chunks: Buffer[] | undefined = spill ? undefined : [];
    let bytes = 0;
    let complete = false;
    // Building 100,000 lines grew the young generation by some 30 MB for good (young-generation.ts).
    const release = holdYoungGeneration();
    try {
      for (const text of this.listingLines(entries)) {
        const chunk = Buffer.from(text, 'utf8');
        spill?.add(chunk);
        if (chunks) {
          chunks.push(chunk);
          bytes += chunk.length;
          if (bytes > MAX_CACHED_LISTING_BYTES) chunks = undefined; // too large to keep: let it go as it is sent
        }
        yield chunk;
      }
      complete = true;
    } finally {
      release(); // also when the consumer stops early (a client gone mid-reply)
      // A reply that straddles a write mixes two states of the database: sent, never kept.
      const current = complete && this.listingWrites === writesBefore;
      if (!current) spill?.discard();
      else if (spill) {
        const listing = spill.finish();
        if (listing) this.listingCache.keepReadable(entries, (reuse) => listing.pieces(reuse), () => listing.close());
      } else if (chunks) this.listingCache.keep(entries, chunks, bytes);
    }
  }

  /**
   * Builds and keeps the LIST2 reply of `entries` now, unless it is kept already: after a long
   * tag pass, so that the first listing is sent from the kept file (about 40 ms for 100,000
   * files) instead of being read from the database while its client waits (about 0.4 s).
   */
  prepareListing(entries: EntrySequence): void {
    if (this.listingCache.get(entries)) return;
    for (const _ of this.listingReply(entries, () => true)) {
      // each piece is dropped as soon as it is written to the kept file
    }
  }

  /**
   * The v2 listing records of `entries`, from the database: tags and hash only where they
   * were read under the entry's stat. One query per thousand files.
   */
  *records(entries: EntrySequence): Generator<V2Entry[]> {
    this.flushTags();
    const s = this.statements;
    // The rows are read in pages along the path index and matched to the entries in step:
    // the snapshot and the table hold the same files in the same order, so each lookup is a
    // comparison, not a search. Where they differ (a path SQLite orders otherwise, a file not
    // yet in the table) the row is looked up by path.
    let page: RecordRow[] = [];
    let at = 0;
    let after = '';
    let more = true;
    for (let i = 0; i < entries.length; i += RECORD_BATCH) {
      const end = Math.min(entries.length, i + RECORD_BATCH);
      const out: V2Entry[] = new Array(end - i);
      for (let k = 0; k < out.length; k++) {
        const entry = entries.at(i + k)!;
        if (at === page.length && more) {
          page = s.recordPage.all(after) as RecordRow[];
          at = 0;
          more = page.length === RECORD_BATCH;
          if (page.length > 0) after = page[page.length - 1]![0];
        }
        let row: RecordRow | undefined;
        if (at < page.length && page[at]![0] === entry.path) row = page[at++];
        else row = s.record.get(entry.path) as RecordRow | undefined;
        out[k] = recordOf(entry, row);
      }
      yield out;
    }
  }

  /**
   * The LIST2 lines of `entries` (each ending in CR LF), a thousand a string, from the lines
   * kept in the database: a listing reads one text per file instead of building and encoding
   * a record. A line is used only when the row's stat is the entry's; any other is built.
   */
  *listingLines(entries: EntrySequence): Generator<string> {
    this.flushTags();
    const s = this.statements;
    type LineRow = [path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, dev: number, listing: string | null, facts: number];
    let page: LineRow[] = [];
    let at = 0;
    let after = '';
    let more = true;
    for (let i = 0; i < entries.length; i += RECORD_BATCH) {
      const end = Math.min(entries.length, i + RECORD_BATCH);
      let text = '';
      for (let k = i; k < end; k++) {
        const entry = entries.at(k)!;
        if (at === page.length && more) {
          page = s.linePage.all(after) as LineRow[];
          at = 0;
          more = page.length === RECORD_BATCH;
          if (page.length > 0) after = page[page.length - 1]![0];
        }
        const row = at < page.length && page[at]![0] === entry.path ? page[at++] : undefined;
        const same = row !== undefined && row[1] === entry.size && row[2] === entry.mtimeMs && row[3] === entry.ctimeMs && row[4] === entry.ino && row[5] === entry.dev;
        if (same && row[6] !== null) text += row[6];
        else if (same && row[7] === 0) text += JSON.stringify({ path: entry.path, size: entry.size, mtime: Math.round(entry.mtimeMs) });
        else text += JSON.stringify(recordOf(entry, s.record.get(entry.path) as RecordRow | undefined));
        text += '\r\n';
      }
      yield text;
    }
  }

  /** Drops albums and artists no file names any more (after a complete tag pass). */
  dropOrphans(): void {
    this.db.transaction(() => {
      this.statements.dropOrphanAlbums.run();
      this.statements.dropOrphanArtists.run();
    })();
    this.artistIds.clear();
    this.albumIds.clear();
  }

  /** Files known, and how many of them have their tags read. */
  counts(): { files: number; tagged: number } {
    return { files: this.statements.count.get() as number, tagged: this.statements.tagged.get() as number };
  }

  /** A file's stable id and what its tags link it to. */
  track(path: string): TrackRow | undefined {
    return trackRow(this.statements.track.get(path));
  }

  trackById(id: number): TrackRow | undefined {
    return trackRow(this.statements.trackById.get(id));
  }

  albums(): AlbumRow[] {
    return (this.statements.albums.all() as { id: number; name: string; artist_id: number; artist: string; tracks: number }[]).map((r) => ({
      id: r.id,
      name: r.name,
      artistId: r.artist_id,
      artist: r.artist,
      tracks: r.tracks,
    }));
  }

  artists(): ArtistRow[] {
    return this.statements.artists.all() as ArtistRow[];
  }

  /**
   * Files whose title, artist, album or album artist contains `text` (case-insensitive for
   * ASCII), in path order, answered by the database rather than from memory.
   */
  search(text: string, limit = 100): TrackRow[] {
    const needle = text.slice(0, MAX_SEARCH_TEXT).replace(/[\\%_]/g, (c) => `\\${c}`);
    const rows = this.statements.search.all({ pattern: `%${needle}%`, limit: Math.max(1, Math.min(limit, MAX_SEARCH_RESULTS)) });
    return rows.map((r) => trackRow(r)!);
  }

  close(): void {
    this.flushTags();
  }
}

/**
 * The listing record of a file as `identity` describes it, with `tags` read under that same
 * identity (never under another: a record pairs facts of one version of the file).
 */
export function listingRecord(identity: FileIdentity, tags: AudioTags): V2Entry {
  return withTags({ path: identity.path, size: identity.size, mtime: Math.round(identity.mtimeMs) }, tags);
}

/** A listing record with the tags a listing shows, in the order recordOf puts them. */
function withTags(record: V2Entry, tags: AudioTags): V2Entry {
  if (tags.title !== undefined) record.title = limitTagText(tags.title);
  if (tags.artist !== undefined) record.artist = limitTagText(tags.artist);
  if (tags.album !== undefined) record.album = limitTagText(tags.album);
  if (tags.track !== undefined) record.track = tags.track;
  if (tags.duration !== undefined) record.duration = tags.duration;
  if (tags.codec !== undefined) record.codec = limitTagText(tags.codec);
  if (tags.sampleRate !== undefined) record.sampleRate = tags.sampleRate;
  if (tags.bitrate !== undefined) record.bitrate = tags.bitrate;
  return record;
}

/** The listing record of an entry: tags and hash only if the row's stat is the entry's. */
function recordOf(entry: LibraryEntry, row: RecordRow | undefined): V2Entry {
  const record: V2Entry = { path: entry.path, size: entry.size, mtime: Math.round(entry.mtimeMs) };
  if (row && row[1] === entry.size && row[2] === entry.mtimeMs && row[3] === entry.ctimeMs && row[4] === entry.ino && row[5] === entry.dev) {
    if (row[6] === 1) {
      if (row[7] !== null) record.title = limitTagText(row[7]);
      if (row[8] !== null) record.artist = limitTagText(row[8]);
      if (row[9] !== null) record.album = limitTagText(row[9]);
      if (row[10] !== null) record.track = row[10];
      if (row[11] !== null) record.duration = row[11];
      if (row[12] !== null) record.codec = limitTagText(row[12]);
      if (row[13] !== null) record.sampleRate = row[13];
      if (row[14] !== null) record.bitrate = row[14];
    }
    if (row[15] !== null) record.sha256 = row[15];
  }
  return record;
}

function statOf(entry: LibraryEntry): { size: number; mtimeMs: number; ctimeMs: number; ino: number; dev: number } {
  return { size: entry.size, mtimeMs: entry.mtimeMs, ctimeMs: entry.ctimeMs, ino: entry.ino, dev: entry.dev };
}

function statValues(identity: FileIdentity): [string, number, number, number, number, number] {
  return [identity.path, identity.size, identity.mtimeMs, identity.ctimeMs, identity.ino, identity.dev];
}

function sameStat(a: FileIdentity, b: FileIdentity): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev;
}

function renameKey(dev: number, ino: number, size: number, mtimeMs: number): string {
  return `${dev}:${ino}:${size}:${mtimeMs}`;
}

function trackRow(value: unknown): TrackRow | undefined {
  if (!value) return undefined;
  const r = value as { id: number; path: string; title: string | null; artist: string | null; album: string | null; album_id: number | null; artist_id: number | null };
  const row: TrackRow = { id: r.id, path: r.path };
  if (r.title !== null) row.title = r.title;
  if (r.artist !== null) row.artist = r.artist;
  if (r.album !== null) row.album = r.album;
  if (r.album_id !== null) row.albumId = r.album_id;
  if (r.artist_id !== null) row.artistId = r.artist_id;
  return row;
}
