import type Database from 'better-sqlite3';
import type { Migration, ServerDatabase } from './database.js';

/** The user data's component name in `schema_versions`. */
export const USERDATA_COMPONENT = 'userdata';

/**
 * What listeners record about the library, per user: stars, ratings and plays of files,
 * albums and artists, playlists, and the saved play queue. Items are named by the library's
 * stable database ids (files.id, albums.id, artists.id) without foreign keys: a file that
 * leaves the library leaves its id here, and readers skip ids the library no longer has, so
 * a playlist outlives a file it listed (and shows it again if a rescan keeps its id).
 */
export const USERDATA_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'user data: stars, ratings, plays, playlists, play queues',
    up(db) {
      db.exec(`
        CREATE TABLE user_items (
          user TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('track', 'album', 'artist')),
          item_id INTEGER NOT NULL,
          starred TEXT,
          rating INTEGER CHECK (rating BETWEEN 1 AND 5),
          play_count INTEGER NOT NULL DEFAULT 0 CHECK (play_count >= 0),
          last_played TEXT,
          PRIMARY KEY (user, kind, item_id)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX user_items_starred ON user_items (user, kind, starred) WHERE starred IS NOT NULL;
        CREATE TABLE playlists (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          owner TEXT NOT NULL,
          name TEXT NOT NULL,
          comment TEXT,
          public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1)),
          created TEXT NOT NULL,
          changed TEXT NOT NULL
        ) STRICT;
        CREATE INDEX playlists_owner ON playlists (owner);
        CREATE TABLE playlist_entries (
          playlist_id INTEGER NOT NULL,
          position INTEGER NOT NULL,
          track_id INTEGER NOT NULL,
          PRIMARY KEY (playlist_id, position)
        ) STRICT, WITHOUT ROWID;
        CREATE TABLE play_queues (
          user TEXT PRIMARY KEY,
          current_track INTEGER,
          position_ms INTEGER NOT NULL DEFAULT 0,
          changed TEXT NOT NULL,
          changed_by TEXT NOT NULL,
          track_ids TEXT NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 2,
    description: 'stars and ratings of folders, by path (folder-based apps star directories)',
    up(db) {
      // By path, not id: a folder has no row of its own; a renamed folder is another folder.
      db.exec(`
        CREATE TABLE user_folders (
          user TEXT NOT NULL,
          path TEXT NOT NULL,
          starred TEXT,
          rating INTEGER CHECK (rating BETWEEN 1 AND 5),
          PRIMARY KEY (user, path)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX user_folders_starred ON user_folders (user, starred) WHERE starred IS NOT NULL;
      `);
    },
  },
];

export type UserItemKind = 'track' | 'album' | 'artist';

/** One user's data on one item; absent fields were never set. */
export interface UserItemData {
  starred?: string;
  rating?: number;
  playCount?: number;
  played?: string;
}

export interface PlaylistRow {
  id: number;
  owner: string;
  name: string;
  comment?: string;
  public: boolean;
  created: string;
  changed: string;
}

export interface PlayQueueRow {
  trackIds: number[];
  current?: number;
  positionMs: number;
  changed: string;
  changedBy: string;
}

/** Most entries one playlist or play queue keeps (every length limited). */
export const MAX_PLAYLIST_ENTRIES = 10_000;
/** Most playlists one user may own. */
export const MAX_PLAYLISTS_PER_USER = 1_000;
/** Longest playlist name and comment kept, in characters. */
export const MAX_PLAYLIST_NAME = 256;
export const MAX_PLAYLIST_COMMENT = 2_048;
/** Longest client name kept as a play queue's `changedBy`. */
export const MAX_CLIENT_NAME = 128;
/** Most starred items of one kind a starred list returns. */
export const MAX_STARRED_LIST = 5_000;

interface ItemRow {
  item_id: number;
  starred: string | null;
  rating: number | null;
  play_count: number;
  last_played: string | null;
}

interface PlaylistDbRow {
  id: number;
  owner: string;
  name: string;
  comment: string | null;
  public: number;
  created: string;
  changed: string;
}

function playlistOf(row: PlaylistDbRow): PlaylistRow {
  return { id: row.id, owner: row.owner, name: row.name, ...(row.comment !== null ? { comment: row.comment } : {}), public: row.public === 1, created: row.created, changed: row.changed };
}

/** Album lists built from listening (getAlbumList's frequent, recent, starred, highest). */
export type ListeningOrder = 'frequent' | 'recent' | 'starred' | 'highest';

/**
 * The user data tables in the server database. Every write is one statement or one
 * transaction; nothing is cached, so two servers' worth of readers (or a restart) see the
 * same rows.
 */
export class UserDataStore {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(database: ServerDatabase) {
    database.migrate(USERDATA_COMPONENT, USERDATA_MIGRATIONS);
    const db = (this.db = database.db);
    this.statements = {
      items: db.prepare('SELECT item_id, starred, rating, play_count, last_played FROM user_items WHERE user = ? AND kind = ? AND item_id IN (SELECT value FROM json_each(?))'),
      star: db.prepare(`INSERT INTO user_items (user, kind, item_id, starred) VALUES (?, ?, ?, ?)
        ON CONFLICT (user, kind, item_id) DO UPDATE SET starred = coalesce(starred, excluded.starred)`),
      unstar: db.prepare('UPDATE user_items SET starred = NULL WHERE user = ? AND kind = ? AND item_id = ?'),
      rate: db.prepare(`INSERT INTO user_items (user, kind, item_id, rating) VALUES (?, ?, ?, ?)
        ON CONFLICT (user, kind, item_id) DO UPDATE SET rating = excluded.rating`),
      play: db.prepare(`INSERT INTO user_items (user, kind, item_id, play_count, last_played) VALUES (?, ?, ?, 1, ?)
        ON CONFLICT (user, kind, item_id) DO UPDATE SET play_count = play_count + 1, last_played = max(coalesce(last_played, ''), excluded.last_played)`),
      // A row that says nothing any more is dropped, so the table holds only what was set.
      prune: db.prepare('DELETE FROM user_items WHERE user = ? AND kind = ? AND item_id = ? AND starred IS NULL AND rating IS NULL AND play_count = 0'),
      starredList: db.prepare('SELECT item_id, starred FROM user_items WHERE user = ? AND kind = ? AND starred IS NOT NULL ORDER BY starred DESC, item_id LIMIT ?'),
      frequent: db.prepare("SELECT item_id FROM user_items WHERE user = ? AND kind = 'album' AND play_count > 0 ORDER BY play_count DESC, item_id LIMIT ? OFFSET ?").pluck(),
      recent: db.prepare("SELECT item_id FROM user_items WHERE user = ? AND kind = 'album' AND last_played IS NOT NULL ORDER BY last_played DESC, item_id LIMIT ? OFFSET ?").pluck(),
      starredAlbums: db.prepare("SELECT item_id FROM user_items WHERE user = ? AND kind = 'album' AND starred IS NOT NULL ORDER BY starred DESC, item_id LIMIT ? OFFSET ?").pluck(),
      highest: db.prepare("SELECT item_id FROM user_items WHERE user = ? AND kind = 'album' AND rating IS NOT NULL ORDER BY rating DESC, item_id LIMIT ? OFFSET ?").pluck(),
      playlist: db.prepare('SELECT * FROM playlists WHERE id = ?'),
      visiblePlaylists: db.prepare('SELECT * FROM playlists WHERE owner = ? OR public = 1 ORDER BY name, id LIMIT ?'),
      ownedCount: db.prepare('SELECT count(*) FROM playlists WHERE owner = ?').pluck(),
      insertPlaylist: db.prepare('INSERT INTO playlists (owner, name, comment, public, created, changed) VALUES (?, ?, NULL, 0, ?, ?)'),
      updatePlaylist: db.prepare('UPDATE playlists SET name = @name, comment = @comment, public = @public, changed = @changed WHERE id = @id'),
      deletePlaylist: db.prepare('DELETE FROM playlists WHERE id = ?'),
      entries: db.prepare('SELECT track_id FROM playlist_entries WHERE playlist_id = ? ORDER BY position').pluck(),
      clearEntries: db.prepare('DELETE FROM playlist_entries WHERE playlist_id = ?'),
      insertEntry: db.prepare('INSERT INTO playlist_entries (playlist_id, position, track_id) VALUES (?, ?, ?)'),
      queue: db.prepare('SELECT * FROM play_queues WHERE user = ?'),
      saveQueue: db.prepare(`INSERT INTO play_queues (user, current_track, position_ms, changed, changed_by, track_ids) VALUES (@user, @current, @position, @changed, @changedBy, @trackIds)
        ON CONFLICT (user) DO UPDATE SET current_track = excluded.current_track, position_ms = excluded.position_ms, changed = excluded.changed, changed_by = excluded.changed_by, track_ids = excluded.track_ids`),
      clearQueue: db.prepare('DELETE FROM play_queues WHERE user = ?'),
      forgetItems: db.prepare('DELETE FROM user_items WHERE user = ?'),
      folders: db.prepare('SELECT path, starred, rating FROM user_folders WHERE user = ? AND path IN (SELECT value FROM json_each(?))'),
      starFolder: db.prepare(`INSERT INTO user_folders (user, path, starred) VALUES (?, ?, ?)
        ON CONFLICT (user, path) DO UPDATE SET starred = coalesce(starred, excluded.starred)`),
      unstarFolder: db.prepare('UPDATE user_folders SET starred = NULL WHERE user = ? AND path = ?'),
      rateFolder: db.prepare(`INSERT INTO user_folders (user, path, rating) VALUES (?, ?, ?)
        ON CONFLICT (user, path) DO UPDATE SET rating = excluded.rating`),
      pruneFolder: db.prepare('DELETE FROM user_folders WHERE user = ? AND path = ? AND starred IS NULL AND rating IS NULL'),
      starredFolders: db.prepare('SELECT path, starred FROM user_folders WHERE user = ? AND starred IS NOT NULL ORDER BY starred DESC, path LIMIT ?'),
      forgetFolders: db.prepare('DELETE FROM user_folders WHERE user = ?'),
      forgetEntries: db.prepare('DELETE FROM playlist_entries WHERE playlist_id IN (SELECT id FROM playlists WHERE owner = ?)'),
      forgetPlaylists: db.prepare('DELETE FROM playlists WHERE owner = ?'),
    };
  }

  /** What `user` recorded on each of `ids` (ids without data are absent from the map). */
  dataOf(user: string, kind: UserItemKind, ids: readonly number[]): Map<number, UserItemData> {
    const data = new Map<number, UserItemData>();
    if (ids.length === 0) return data;
    for (const row of this.statements.items.all(user, kind, JSON.stringify(ids)) as ItemRow[]) {
      const item: UserItemData = {};
      if (row.starred !== null) item.starred = row.starred;
      if (row.rating !== null) item.rating = row.rating;
      if (row.play_count > 0) item.playCount = row.play_count;
      if (row.last_played !== null) item.played = row.last_played;
      data.set(row.item_id, item);
    }
    return data;
  }

  /** Stars items; one already starred keeps its first time. */
  star(user: string, kind: UserItemKind, ids: readonly number[], at: Date): void {
    const when = at.toISOString();
    this.db.transaction(() => {
      for (const id of ids) this.statements.star.run(user, kind, id, when);
    })();
  }

  unstar(user: string, kind: UserItemKind, ids: readonly number[]): void {
    this.db.transaction(() => {
      for (const id of ids) {
        this.statements.unstar.run(user, kind, id);
        this.statements.prune.run(user, kind, id);
      }
    })();
  }

  /** Rates an item 1 to 5; 0 removes the rating. */
  setRating(user: string, kind: UserItemKind, id: number, rating: number): void {
    this.db.transaction(() => {
      this.statements.rate.run(user, kind, id, rating === 0 ? null : rating);
      this.statements.prune.run(user, kind, id);
    })();
  }

  /** Counts one play of a file, and of its album and artist when it has them. */
  recordPlay(user: string, play: { trackId: number; albumId?: number; artistId?: number }, at: Date): void {
    const when = at.toISOString();
    this.db.transaction(() => {
      this.statements.play.run(user, 'track', play.trackId, when);
      if (play.albumId !== undefined) this.statements.play.run(user, 'album', play.albumId, when);
      if (play.artistId !== undefined) this.statements.play.run(user, 'artist', play.artistId, when);
    })();
  }

  /** The items of one kind `user` starred, newest star first. */
  starred(user: string, kind: UserItemKind, limit = MAX_STARRED_LIST): { id: number; starred: string }[] {
    return (this.statements.starredList.all(user, kind, Math.min(limit, MAX_STARRED_LIST)) as { item_id: number; starred: string }[]).map((r) => ({ id: r.item_id, starred: r.starred }));
  }

  // --- folders (by path below the library root) ---------------------------------------

  /** What `user` recorded on each folder of `paths` (folders without data are absent). */
  folderData(user: string, paths: readonly string[]): Map<string, UserItemData> {
    const data = new Map<string, UserItemData>();
    if (paths.length === 0) return data;
    for (const row of this.statements.folders.all(user, JSON.stringify(paths)) as { path: string; starred: string | null; rating: number | null }[]) {
      const item: UserItemData = {};
      if (row.starred !== null) item.starred = row.starred;
      if (row.rating !== null) item.rating = row.rating;
      data.set(row.path, item);
    }
    return data;
  }

  /** Stars folders; one already starred keeps its first time. */
  starFolders(user: string, paths: readonly string[], at: Date): void {
    const when = at.toISOString();
    this.db.transaction(() => {
      for (const p of paths) this.statements.starFolder.run(user, p, when);
    })();
  }

  unstarFolders(user: string, paths: readonly string[]): void {
    this.db.transaction(() => {
      for (const p of paths) {
        this.statements.unstarFolder.run(user, p);
        this.statements.pruneFolder.run(user, p);
      }
    })();
  }

  /** Rates a folder 1 to 5; 0 removes the rating. */
  setFolderRating(user: string, folder: string, rating: number): void {
    this.db.transaction(() => {
      this.statements.rateFolder.run(user, folder, rating === 0 ? null : rating);
      this.statements.pruneFolder.run(user, folder);
    })();
  }

  /** The folders `user` starred, newest star first (folders the library lost included). */
  starredFolders(user: string, limit = MAX_STARRED_LIST): { path: string; starred: string }[] {
    return this.statements.starredFolders.all(user, Math.min(limit, MAX_STARRED_LIST)) as { path: string; starred: string }[];
  }

  /** Album ids in a listening order, for one page of an album list. */
  albumsBy(user: string, order: ListeningOrder, page: { limit: number; offset: number }): number[] {
    const statement = { frequent: this.statements.frequent, recent: this.statements.recent, starred: this.statements.starredAlbums, highest: this.statements.highest }[order];
    return statement.all(user, page.limit, page.offset) as number[];
  }

  /**
   * Removes everything `user` recorded (their playlists, public ones too): an account that is
   * removed leaves nothing behind for a later account of the same name to inherit.
   */
  forgetUser(user: string): void {
    this.db.transaction(() => {
      this.statements.forgetItems.run(user);
      this.statements.forgetFolders.run(user);
      this.statements.forgetEntries.run(user);
      this.statements.forgetPlaylists.run(user);
      this.statements.clearQueue.run(user);
    })();
  }

  // --- playlists ---------------------------------------------------------------------

  playlist(id: number): PlaylistRow | undefined {
    const row = this.statements.playlist.get(id) as PlaylistDbRow | undefined;
    return row ? playlistOf(row) : undefined;
  }

  /** The playlists `user` may see: their own and everyone's public ones. */
  playlistsVisibleTo(user: string): PlaylistRow[] {
    return (this.statements.visiblePlaylists.all(user, MAX_PLAYLISTS_PER_USER * 10) as PlaylistDbRow[]).map(playlistOf);
  }

  /** The file ids of a playlist in order (ids the library lost included). */
  playlistEntries(id: number): number[] {
    return this.statements.entries.all(id) as number[];
  }

  /** @returns the new playlist's id, or undefined when `owner` has the most playlists allowed. */
  createPlaylist(owner: string, name: string, trackIds: readonly number[], at: Date): number | undefined {
    const when = at.toISOString();
    return this.db.transaction(() => {
      if ((this.statements.ownedCount.get(owner) as number) >= MAX_PLAYLISTS_PER_USER) return undefined;
      const id = Number(this.statements.insertPlaylist.run(owner, name.slice(0, MAX_PLAYLIST_NAME), when, when).lastInsertRowid);
      this.writeEntries(id, trackIds);
      return id;
    })();
  }

  /** Changes a playlist's fields and, when given, replaces its entries; all in one transaction. */
  updatePlaylist(id: number, change: { name?: string; comment?: string; public?: boolean; trackIds?: readonly number[] }, at: Date): void {
    this.db.transaction(() => {
      const current = this.playlist(id);
      if (!current) return;
      this.statements.updatePlaylist.run({
        id,
        name: (change.name ?? current.name).slice(0, MAX_PLAYLIST_NAME),
        comment: change.comment !== undefined ? change.comment.slice(0, MAX_PLAYLIST_COMMENT) : (current.comment ?? null),
        public: (change.public ?? current.public) ? 1 : 0,
        changed: at.toISOString(),
      });
      if (change.trackIds) this.writeEntries(id, change.trackIds);
    })();
  }

  deletePlaylist(id: number): void {
    this.db.transaction(() => {
      this.statements.clearEntries.run(id);
      this.statements.deletePlaylist.run(id);
    })();
  }

  private writeEntries(id: number, trackIds: readonly number[]): void {
    this.statements.clearEntries.run(id);
    trackIds.slice(0, MAX_PLAYLIST_ENTRIES).forEach((trackId, position) => this.statements.insertEntry.run(id, position, trackId));
  }

  // --- play queue --------------------------------------------------------------------

  playQueue(user: string): PlayQueueRow | undefined {
    const row = this.statements.queue.get(user) as { current_track: number | null; position_ms: number; changed: string; changed_by: string; track_ids: string } | undefined;
    if (!row) return undefined;
    return {
      trackIds: JSON.parse(row.track_ids) as number[],
      ...(row.current_track !== null ? { current: row.current_track } : {}),
      positionMs: row.position_ms,
      changed: row.changed,
      changedBy: row.changed_by,
    };
  }

  /** Saves `user`'s queue; an empty one is removed (the API's way to clear it). */
  savePlayQueue(user: string, queue: Omit<PlayQueueRow, 'changed'>, at: Date): void {
    if (queue.trackIds.length === 0) {
      this.statements.clearQueue.run(user);
      return;
    }
    this.statements.saveQueue.run({
      user,
      current: queue.current ?? null,
      position: queue.positionMs,
      changed: at.toISOString(),
      changedBy: queue.changedBy.slice(0, MAX_CLIENT_NAME),
      trackIds: JSON.stringify(queue.trackIds.slice(0, MAX_PLAYLIST_ENTRIES)),
    });
  }
}
