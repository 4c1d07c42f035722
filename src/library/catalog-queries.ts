import type Database from 'better-sqlite3';
import type { LibraryStore } from './library-store.js';

/** Most rows one page of a catalog query returns (every length limited). */
export const MAX_PAGE_SIZE = 500;
/** Longest search text looked at. */
export const MAX_CATALOG_SEARCH_TEXT = 256;

/** A window into an ordered list: `items` from `offset`, and how many there are in all. */
export interface Page<T> {
  items: T[];
  offset: number;
  total: number;
}

export interface PageRequest {
  offset?: number;
  limit?: number;
}

export interface CatalogArtist {
  id: number;
  name: string;
  albums: number;
}

export interface CatalogAlbum {
  id: number;
  name: string;
  artistId: number;
  artist: string;
  tracks: number;
  year?: number;
  /** A track of the album that has an embedded picture, if any (for cover art). */
  pictureTrackId?: number;
}

/** One file as the catalog shows it: its stable id, path and tags where read. */
export interface CatalogTrack {
  id: number;
  path: string;
  size: number;
  mtimeMs: number;
  title?: string;
  artist?: string;
  album?: string;
  albumArtist?: string;
  albumId?: number;
  artistId?: number;
  track?: number;
  disc?: number;
  year?: number;
  genre?: string;
  duration?: number;
  codec?: string;
  sampleRate?: number;
  bitrate?: number;
  picture?: boolean;
  sha256?: string;
}

/** The case- and accent-insensitive form used for search (the same as the client's `find`). */
export function foldForSearch(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

const TRACK_COLUMNS =
  'f.id, f.path, f.size, f.mtime_ms, f.title, f.artist, f.album, f.album_artist, f.album_id, f.artist_id, f.track, f.disc, f.year, f.genre, f.duration, f.codec, f.sample_rate, f.bitrate, f.picture, f.sha256';

interface TrackDbRow {
  id: number;
  path: string;
  size: number;
  mtime_ms: number;
  title: string | null;
  artist: string | null;
  album: string | null;
  album_artist: string | null;
  album_id: number | null;
  artist_id: number | null;
  track: number | null;
  disc: number | null;
  year: number | null;
  genre: string | null;
  duration: number | null;
  codec: string | null;
  sample_rate: number | null;
  bitrate: number | null;
  picture: number | null;
  sha256: string | null;
}

/**
 * Read-only questions the web interface asks of the library database: artists, their albums,
 * an album's tracks in disc and track order, search, one file. Paged everywhere, so a
 * 100,000-file library answers a screenful at a time. It reads the tables library-store.ts
 * owns and writes nothing.
 */
export class CatalogQueries {
  private readonly store: LibraryStore;
  private readonly db: Database.Database;
  private readonly statements;
  /** The folded search text of every file, rebuilt when the database has changed. */
  private searchIndex: { version: number; ids: Int32Array; texts: string[] } | undefined;

  constructor(store: LibraryStore) {
    this.store = store;
    this.db = store.database.db;
    const db = this.db;
    this.statements = {
      changes: db.prepare('SELECT total_changes()').pluck(),
      artistCount: db.prepare('SELECT count(*) FROM artists ar WHERE EXISTS (SELECT 1 FROM albums al WHERE al.artist_id = ar.id)').pluck(),
      artists: db.prepare(
        `SELECT ar.id, ar.name, (SELECT count(*) FROM albums al WHERE al.artist_id = ar.id) AS albums FROM artists ar
         WHERE EXISTS (SELECT 1 FROM albums al WHERE al.artist_id = ar.id)
         ORDER BY ar.name COLLATE NOCASE, ar.id LIMIT @limit OFFSET @offset`,
      ),
      albumCount: db.prepare('SELECT count(*) FROM albums').pluck(),
      albums: db.prepare(
        `SELECT al.id, al.name, al.artist_id, ar.name AS artist,
           (SELECT count(*) FROM files f WHERE f.album_id = al.id) AS tracks,
           (SELECT max(f.year) FROM files f WHERE f.album_id = al.id) AS year,
           (SELECT f.id FROM files f WHERE f.album_id = al.id AND f.picture = 1 ORDER BY f.disc, f.track, f.path LIMIT 1) AS picture_track
         FROM albums al JOIN artists ar ON ar.id = al.artist_id
         ORDER BY ar.name COLLATE NOCASE, al.name COLLATE NOCASE, al.id LIMIT @limit OFFSET @offset`,
      ),
      artistAlbumCount: db.prepare('SELECT count(*) FROM albums WHERE artist_id = ?').pluck(),
      artistAlbums: db.prepare(
        `SELECT al.id, al.name, al.artist_id, ar.name AS artist,
           (SELECT count(*) FROM files f WHERE f.album_id = al.id) AS tracks,
           (SELECT max(f.year) FROM files f WHERE f.album_id = al.id) AS year,
           (SELECT f.id FROM files f WHERE f.album_id = al.id AND f.picture = 1 ORDER BY f.disc, f.track, f.path LIMIT 1) AS picture_track
         FROM albums al JOIN artists ar ON ar.id = al.artist_id WHERE al.artist_id = @artistId
         ORDER BY year, al.name COLLATE NOCASE, al.id LIMIT @limit OFFSET @offset`,
      ),
      album: db.prepare(
        `SELECT al.id, al.name, al.artist_id, ar.name AS artist,
           (SELECT count(*) FROM files f WHERE f.album_id = al.id) AS tracks,
           (SELECT max(f.year) FROM files f WHERE f.album_id = al.id) AS year,
           (SELECT f.id FROM files f WHERE f.album_id = al.id AND f.picture = 1 ORDER BY f.disc, f.track, f.path LIMIT 1) AS picture_track
         FROM albums al JOIN artists ar ON ar.id = al.artist_id WHERE al.id = ?`,
      ),
      artist: db.prepare('SELECT id, name, (SELECT count(*) FROM albums al WHERE al.artist_id = artists.id) AS albums FROM artists WHERE id = ?'),
      // Disc then track; files without numbers after, in path order (as a folder lists them).
      albumTracks: db.prepare(
        `SELECT ${TRACK_COLUMNS} FROM files f WHERE f.album_id = ?
         ORDER BY f.disc IS NULL, f.disc, f.track IS NULL, f.track, f.path LIMIT ${MAX_PAGE_SIZE * 4}`,
      ),
      trackById: db.prepare(`SELECT ${TRACK_COLUMNS} FROM files f WHERE f.id = ?`),
      tracksByIds: db.prepare(`SELECT ${TRACK_COLUMNS} FROM files f WHERE f.id IN (SELECT value FROM json_each(?))`),
      tracksByPaths: db.prepare(`SELECT ${TRACK_COLUMNS} FROM files f WHERE f.path IN (SELECT value FROM json_each(?))`),
      searchRows: db.prepare("SELECT id, coalesce(title, '') || ' ' || coalesce(artist, '') || ' ' || coalesce(album, '') || ' ' || coalesce(album_artist, '') || ' ' || path FROM files ORDER BY path").raw(true),
    };
  }

  artists(page: PageRequest = {}): Page<CatalogArtist> {
    const { offset, limit } = window(page);
    return { items: this.statements.artists.all({ offset, limit }) as CatalogArtist[], offset, total: this.statements.artistCount.get() as number };
  }

  artist(id: number): CatalogArtist | undefined {
    return this.statements.artist.get(id) as CatalogArtist | undefined;
  }

  albums(page: PageRequest = {}): Page<CatalogAlbum> {
    const { offset, limit } = window(page);
    return { items: (this.statements.albums.all({ offset, limit }) as AlbumDbRow[]).map(albumOf), offset, total: this.statements.albumCount.get() as number };
  }

  /** An artist's albums, oldest first. */
  artistAlbums(artistId: number, page: PageRequest = {}): Page<CatalogAlbum> {
    const { offset, limit } = window(page);
    return {
      items: (this.statements.artistAlbums.all({ artistId, offset, limit }) as AlbumDbRow[]).map(albumOf),
      offset,
      total: this.statements.artistAlbumCount.get(artistId) as number,
    };
  }

  album(id: number): CatalogAlbum | undefined {
    const row = this.statements.album.get(id) as AlbumDbRow | undefined;
    return row ? albumOf(row) : undefined;
  }

  /** An album's tracks in disc and track order (an album is never paged: it is one screen). */
  albumTracks(albumId: number): CatalogTrack[] {
    this.store.flushTags();
    return (this.statements.albumTracks.all(albumId) as TrackDbRow[]).map(trackOf);
  }

  track(id: number): CatalogTrack | undefined {
    const row = this.statements.trackById.get(id) as TrackDbRow | undefined;
    return row ? trackOf(row) : undefined;
  }

  /** The files at these relative paths, in the order given (unknown paths left out). */
  tracksByPaths(paths: readonly string[]): CatalogTrack[] {
    if (paths.length === 0) return [];
    const rows = new Map<string, CatalogTrack>();
    for (const row of this.statements.tracksByPaths.all(JSON.stringify(paths)) as TrackDbRow[]) rows.set(row.path, trackOf(row));
    return paths.flatMap((p) => rows.get(p) ?? []);
  }

  /**
   * Files whose title, artist, album, album artist or path contains every word of `text`,
   * case and accents ignored ("emilie cafe" finds "Émilie Ölund — Café Noir"), in path order.
   * The folded texts are kept in memory and rebuilt only after the database changed: a
   * search over 100,000 files is a scan of short strings, not of the table.
   */
  search(text: string, page: PageRequest = {}): Page<CatalogTrack> {
    const { offset, limit } = window(page);
    const words = foldForSearch(text.slice(0, MAX_CATALOG_SEARCH_TEXT)).split(/\s+/).filter(Boolean);
    if (words.length === 0) return { items: [], offset, total: 0 };
    const index = this.currentSearchIndex();
    const matches: number[] = [];
    for (let i = 0; i < index.texts.length; i++) {
      const haystack = index.texts[i]!;
      if (words.every((w) => haystack.includes(w))) matches.push(index.ids[i]!);
    }
    const ids = matches.slice(offset, offset + limit);
    const rows = new Map<number, CatalogTrack>();
    if (ids.length > 0) for (const row of this.statements.tracksByIds.all(JSON.stringify(ids)) as TrackDbRow[]) rows.set(row.id, trackOf(row));
    return { items: ids.flatMap((id) => rows.get(id) ?? []), offset, total: matches.length };
  }

  /** The files with these ids, in the order given (unknown ids left out; at most MAX_PAGE_SIZE). */
  tracksByIds(ids: readonly number[]): CatalogTrack[] {
    const wanted = ids.slice(0, MAX_PAGE_SIZE);
    if (wanted.length === 0) return [];
    const rows = new Map<number, CatalogTrack>();
    for (const row of this.statements.tracksByIds.all(JSON.stringify(wanted)) as TrackDbRow[]) rows.set(row.id, trackOf(row));
    return wanted.flatMap((id) => rows.get(id) ?? []);
  }

  /** Every file in path order, paged (what an empty Subsonic search asks for). */
  allTracks(page: PageRequest = {}): Page<CatalogTrack> {
    const { offset, limit } = window(page);
    const index = this.currentSearchIndex();
    const ids = Array.from(index.ids.subarray(offset, offset + limit));
    const rows = new Map<number, CatalogTrack>();
    if (ids.length > 0) for (const row of this.statements.tracksByIds.all(JSON.stringify(ids)) as TrackDbRow[]) rows.set(row.id, trackOf(row));
    return { items: ids.flatMap((id) => rows.get(id) ?? []), offset, total: index.ids.length };
  }

  private currentSearchIndex(): { ids: Int32Array; texts: string[] } {
    this.store.flushTags();
    // total_changes() counts every row written on this connection, which is the one the
    // library writes through: it moves exactly when the rows searched may have.
    const version = this.statements.changes.get() as number;
    if (this.searchIndex?.version !== version) {
      const rows = this.statements.searchRows.all() as [number, string][];
      const ids = new Int32Array(rows.length);
      const texts = new Array<string>(rows.length);
      rows.forEach(([id, text], i) => {
        ids[i] = id;
        texts[i] = foldForSearch(text);
      });
      this.searchIndex = { version, ids, texts };
    }
    return this.searchIndex;
  }
}

interface AlbumDbRow {
  id: number;
  name: string;
  artist_id: number;
  artist: string;
  tracks: number;
  year: number | null;
  picture_track: number | null;
}

function albumOf(r: AlbumDbRow): CatalogAlbum {
  const album: CatalogAlbum = { id: r.id, name: r.name, artistId: r.artist_id, artist: r.artist, tracks: r.tracks };
  if (r.year !== null) album.year = r.year;
  if (r.picture_track !== null) album.pictureTrackId = r.picture_track;
  return album;
}

function trackOf(r: TrackDbRow): CatalogTrack {
  const t: CatalogTrack = { id: r.id, path: r.path, size: r.size, mtimeMs: Math.round(r.mtime_ms) };
  if (r.title !== null) t.title = r.title;
  if (r.artist !== null) t.artist = r.artist;
  if (r.album !== null) t.album = r.album;
  if (r.album_artist !== null) t.albumArtist = r.album_artist;
  if (r.album_id !== null) t.albumId = r.album_id;
  if (r.artist_id !== null) t.artistId = r.artist_id;
  if (r.track !== null) t.track = r.track;
  if (r.disc !== null) t.disc = r.disc;
  if (r.year !== null) t.year = r.year;
  if (r.genre !== null) t.genre = r.genre;
  if (r.duration !== null) t.duration = r.duration;
  if (r.codec !== null) t.codec = r.codec;
  if (r.sample_rate !== null) t.sampleRate = r.sample_rate;
  if (r.bitrate !== null) t.bitrate = r.bitrate;
  if (r.picture === 1) t.picture = true;
  if (r.sha256 !== null) t.sha256 = r.sha256;
  return t;
}

function window(page: PageRequest): { offset: number; limit: number } {
  const offset = Math.max(0, Math.floor(page.offset ?? 0));
  const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(page.limit ?? 100)));
  return { offset, limit };
}
