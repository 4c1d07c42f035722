import type Database from 'better-sqlite3';
import { foldForSearch, MAX_CATALOG_SEARCH_TEXT, MAX_PAGE_SIZE, type Page, type PageRequest } from './catalog-queries.js';
import type { LibraryStore } from './library-store.js';

/** An album with what list views show: counts, total length, newest file time, genre. */
export interface AlbumSummary {
  id: number;
  name: string;
  artistId: number;
  artist: string;
  tracks: number;
  /** Seconds, summed over the tracks whose length is known. */
  duration: number;
  /** The newest modification time of its files (ms): when it last came or changed. */
  newestMs: number;
  year?: number;
  genre?: string;
  pictureTrackId?: number;
}

/**
 * Orders an album list may be asked in. Lists built from listening (frequent, recent,
 * starred, highest) are empty until plays and ratings are recorded.
 */
export type AlbumListOrder =
  | 'random'
  | 'newest'
  | 'alphabeticalByName'
  | 'alphabeticalByArtist'
  | 'byYear'
  | 'byGenre'
  | 'frequent'
  | 'recent'
  | 'starred'
  | 'highest';

export interface AlbumListRequest extends PageRequest {
  order: AlbumListOrder;
  fromYear?: number;
  toYear?: number;
  genre?: string;
}

export interface GenreSummary {
  name: string;
  tracks: number;
  albums: number;
}

const SUMMARY = `SELECT al.id, al.name, al.artist_id, ar.name AS artist,
    count(f.id) AS tracks, coalesce(sum(f.duration), 0) AS duration, coalesce(max(f.mtime_ms), 0) AS newest_ms,
    max(f.year) AS year, max(f.genre) AS genre,
    (SELECT p.id FROM files p WHERE p.album_id = al.id AND p.picture = 1 ORDER BY p.disc, p.track, p.path LIMIT 1) AS picture_track
  FROM albums al JOIN artists ar ON ar.id = al.artist_id JOIN files f ON f.album_id = al.id`;

/**
 * Album lists (the "home screen" of most apps), genres and name search over artists and
 * albums, from the library database. Read-only, paged, every page at most MAX_PAGE_SIZE.
 */
export class AlbumLists {
  private readonly store: LibraryStore;
  private readonly db: Database.Database;
  private readonly statements;

  constructor(store: LibraryStore) {
    this.store = store;
    this.db = store.database.db;
    const db = this.db;
    const page = 'LIMIT @limit OFFSET @offset';
    this.statements = {
      byId: db.prepare(`${SUMMARY} WHERE al.id = ? GROUP BY al.id`),
      byIds: db.prepare(`${SUMMARY} WHERE al.id IN (SELECT value FROM json_each(?)) GROUP BY al.id`),
      byArtist: db.prepare(`${SUMMARY} WHERE al.artist_id = ? GROUP BY al.id ORDER BY year, al.name COLLATE NOCASE, al.id LIMIT ${MAX_PAGE_SIZE}`),
      count: db.prepare('SELECT count(*) FROM albums al WHERE EXISTS (SELECT 1 FROM files f WHERE f.album_id = al.id)').pluck(),
      newest: db.prepare(`${SUMMARY} GROUP BY al.id ORDER BY newest_ms DESC, al.id DESC ${page}`),
      // Alphabetical pages pick their ids from the albums table first and summarise only
      // those: summarising every album to sort them costs ~60 ms at 10,000 albums.
      byName: db.prepare(`SELECT al.id FROM albums al WHERE EXISTS (SELECT 1 FROM files f WHERE f.album_id = al.id) ORDER BY al.name COLLATE NOCASE, al.id ${page}`).pluck(),
      byArtistName: db
        .prepare(
          `SELECT al.id FROM albums al JOIN artists ar ON ar.id = al.artist_id WHERE EXISTS (SELECT 1 FROM files f WHERE f.album_id = al.id)
           ORDER BY ar.name COLLATE NOCASE, al.name COLLATE NOCASE, al.id ${page}`,
        )
        .pluck(),
      random: db.prepare(`SELECT id FROM albums al WHERE EXISTS (SELECT 1 FROM files f WHERE f.album_id = al.id) ORDER BY random() LIMIT @limit`).pluck(),
      yearRange: db.prepare(`${SUMMARY} GROUP BY al.id HAVING year BETWEEN @low AND @high ORDER BY year, al.name COLLATE NOCASE, al.id ${page}`),
      yearRangeDown: db.prepare(`${SUMMARY} GROUP BY al.id HAVING year BETWEEN @low AND @high ORDER BY year DESC, al.name COLLATE NOCASE, al.id ${page}`),
      yearRangeCount: db.prepare(`SELECT count(*) FROM (SELECT max(f.year) AS year FROM files f WHERE f.album_id IS NOT NULL GROUP BY f.album_id HAVING year BETWEEN @low AND @high)`).pluck(),
      byGenre: db.prepare(
        `${SUMMARY} WHERE al.id IN (SELECT album_id FROM files WHERE genre = @genre COLLATE NOCASE AND album_id IS NOT NULL) GROUP BY al.id ORDER BY al.name COLLATE NOCASE, al.id ${page}`,
      ),
      byGenreCount: db.prepare('SELECT count(DISTINCT album_id) FROM files WHERE genre = @genre COLLATE NOCASE AND album_id IS NOT NULL').pluck(),
      randomTracks: db.prepare(
        `SELECT id FROM files WHERE (@genre IS NULL OR genre = @genre COLLATE NOCASE) AND (@low IS NULL OR year >= @low) AND (@high IS NULL OR year <= @high)
         ORDER BY random() LIMIT @limit`,
      ).pluck(),
      genreTracks: db.prepare('SELECT id FROM files WHERE genre = @genre COLLATE NOCASE ORDER BY path LIMIT @limit OFFSET @offset').pluck(),
      genres: db.prepare(
        `SELECT genre AS name, count(*) AS tracks, count(DISTINCT album_id) AS albums FROM files WHERE genre IS NOT NULL AND genre <> ''
         GROUP BY genre ORDER BY genre COLLATE NOCASE LIMIT ${MAX_PAGE_SIZE}`,
      ),
      artistNames: db.prepare('SELECT ar.id, ar.name FROM artists ar WHERE EXISTS (SELECT 1 FROM albums al WHERE al.artist_id = ar.id) ORDER BY ar.name COLLATE NOCASE, ar.id').raw(true),
      albumNames: db.prepare(
        'SELECT al.id, al.name, ar.name FROM albums al JOIN artists ar ON ar.id = al.artist_id WHERE EXISTS (SELECT 1 FROM files f WHERE f.album_id = al.id) ORDER BY al.name COLLATE NOCASE, al.id',
      ).raw(true),
    };
  }

  album(id: number): AlbumSummary | undefined {
    this.store.flushTags();
    const row = this.statements.byId.get(id) as SummaryRow | undefined;
    return row ? summaryOf(row) : undefined;
  }

  /** An artist's albums, oldest first (at most MAX_PAGE_SIZE). */
  artistAlbums(artistId: number): AlbumSummary[] {
    this.store.flushTags();
    return (this.statements.byArtist.all(artistId) as SummaryRow[]).map(summaryOf);
  }

  /**
   * One page of albums in the asked order. `newest` orders by the newest file's modification
   * time (the database keeps no date of addition); `byYear` runs downwards when fromYear >
   * toYear, as the API says; listening-based orders are empty (no plays recorded yet).
   */
  list(request: AlbumListRequest): Page<AlbumSummary> {
    this.store.flushTags();
    const { offset, limit } = window(request);
    const s = this.statements;
    const all = (): number => s.count.get() as number;
    const rows = (statement: Database.Statement, params: Record<string, unknown>): AlbumSummary[] => (statement.all({ offset, limit, ...params }) as SummaryRow[]).map(summaryOf);
    switch (request.order) {
      case 'newest':
        return { items: rows(s.newest, {}), offset, total: all() };
      case 'alphabeticalByName':
        return { items: this.summaries(s.byName.all({ offset, limit }) as number[]), offset, total: all() };
      case 'alphabeticalByArtist':
        return { items: this.summaries(s.byArtistName.all({ offset, limit }) as number[]), offset, total: all() };
      case 'random':
        return { items: this.summaries(s.random.all({ limit }) as number[]), offset: 0, total: all() };
      case 'byYear': {
        const from = request.fromYear ?? 0;
        const to = request.toYear ?? 9999;
        const low = Math.min(from, to);
        const high = Math.max(from, to);
        return { items: rows(from > to ? s.yearRangeDown : s.yearRange, { low, high }), offset, total: s.yearRangeCount.get({ low, high }) as number };
      }
      case 'byGenre': {
        const genre = request.genre ?? '';
        return { items: rows(s.byGenre, { genre }), offset, total: s.byGenreCount.get({ genre }) as number };
      }
      default:
        return { items: [], offset, total: 0 };
    }
  }

  /** Ids of up to `limit` files picked at random, optionally of a genre and within years. */
  randomTrackIds(options: { limit: number; genre?: string; fromYear?: number; toYear?: number }): number[] {
    this.store.flushTags();
    const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(options.limit)));
    return this.statements.randomTracks.all({ limit, genre: options.genre ?? null, low: options.fromYear ?? null, high: options.toYear ?? null }) as number[];
  }

  /** Ids of a genre's files in path order, paged. */
  genreTrackIds(genre: string, page: PageRequest = {}): number[] {
    this.store.flushTags();
    const { offset, limit } = window(page);
    return this.statements.genreTracks.all({ genre, offset, limit }) as number[];
  }

  /** Summaries of these albums, in the order given. */
  private summaries(ids: number[]): AlbumSummary[] {
    if (ids.length === 0) return [];
    const found = new Map((this.statements.byIds.all(JSON.stringify(ids)) as SummaryRow[]).map((r) => [r.id, summaryOf(r)]));
    return ids.flatMap((id) => found.get(id) ?? []);
  }

  genres(): GenreSummary[] {
    this.store.flushTags();
    return this.statements.genres.all() as GenreSummary[];
  }

  /**
   * Artists whose name contains every word of `text` (case and accents ignored), by name;
   * an empty text matches every artist (how offline-sync apps list the whole library).
   */
  searchArtists(text: string, page: PageRequest = {}): Page<{ id: number; name: string }> {
    this.store.flushTags();
    const { offset, limit } = window(page);
    const matches = filterByWords(this.statements.artistNames.all() as [number, string][], text, (r) => r[1]);
    return { items: matches.slice(offset, offset + limit).map(([id, name]) => ({ id, name })), offset, total: matches.length };
  }

  /** Albums whose name or artist contains every word of `text`; empty matches all. */
  searchAlbums(text: string, page: PageRequest = {}): Page<AlbumSummary> {
    this.store.flushTags();
    const { offset, limit } = window(page);
    const matches = filterByWords(this.statements.albumNames.all() as [number, string, string][], text, (r) => `${r[1]} ${r[2]}`);
    const ids = matches.slice(offset, offset + limit).map((r) => r[0]);
    const found = new Map((this.statements.byIds.all(JSON.stringify(ids)) as SummaryRow[]).map((r) => [r.id, summaryOf(r)]));
    return { items: ids.flatMap((id) => found.get(id) ?? []), offset, total: matches.length };
  }
}

function filterByWords<T>(rows: T[], text: string, textOf: (row: T) => string): T[] {
  const words = foldForSearch(text.slice(0, MAX_CATALOG_SEARCH_TEXT)).split(/\s+/).filter(Boolean);
  if (words.length === 0) return rows;
  return rows.filter((row) => {
    const haystack = foldForSearch(textOf(row));
    return words.every((w) => haystack.includes(w));
  });
}

interface SummaryRow {
  id: number;
  name: string;
  artist_id: number;
  artist: string;
  tracks: number;
  duration: number;
  newest_ms: number;
  year: number | null;
  genre: string | null;
  picture_track: number | null;
}

function summaryOf(r: SummaryRow): AlbumSummary {
  const a: AlbumSummary = { id: r.id, name: r.name, artistId: r.artist_id, artist: r.artist, tracks: r.tracks, duration: r.duration, newestMs: r.newest_ms };
  if (r.year !== null) a.year = r.year;
  if (r.genre !== null) a.genre = r.genre;
  if (r.picture_track !== null) a.pictureTrackId = r.picture_track;
  return a;
}

function window(page: PageRequest): { offset: number; limit: number } {
  const offset = Math.max(0, Math.floor(page.offset ?? 0));
  const limit = Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(page.limit ?? 10)));
  return { offset, limit };
}
