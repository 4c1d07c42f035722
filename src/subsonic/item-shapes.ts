import path from 'node:path';
import type { AlbumSummary, CatalogTrack } from '../library/index.js';
import { audioContentType } from '../http/media-types.js';
import { SHAPE, type ResponseNode } from './responses.js';

/**
 * Subsonic ids are strings; ours say what they name: `ar-N` an artist, `al-N` an album,
 * `tr-N` a file (all database ids, stable across restarts), `fo-` + base64url of a folder's
 * path, and `1` the one music folder (the library).
 */
export type SubsonicId =
  | { kind: 'artist'; id: number }
  | { kind: 'album'; id: number }
  | { kind: 'track'; id: number }
  | { kind: 'folder'; path: string }
  | { kind: 'root' };

export const MUSIC_FOLDER_ID = 1;
/** Longest folder path an id may carry. */
const MAX_FOLDER_PATH = 4096;

export const artistId = (id: number): string => `ar-${id}`;
export const albumId = (id: number): string => `al-${id}`;
export const trackId = (id: number): string => `tr-${id}`;
export function folderId(folder: string): string {
  return folder === '' ? String(MUSIC_FOLDER_ID) : `fo-${Buffer.from(folder, 'utf8').toString('base64url')}`;
}

/** Undefined for anything that is not one of our ids. */
export function parseSubsonicId(text: string): SubsonicId | undefined {
  if (text === String(MUSIC_FOLDER_ID)) return { kind: 'root' };
  const numbered = /^(ar|al|tr)-([1-9][0-9]{0,14})$/.exec(text);
  if (numbered) return { kind: numbered[1] === 'ar' ? 'artist' : numbered[1] === 'al' ? 'album' : 'track', id: Number(numbered[2]) };
  if (text.startsWith('fo-') && text.length <= 3 + Math.ceil((MAX_FOLDER_PATH * 4) / 3) && /^[A-Za-z0-9_-]+$/.test(text.slice(3))) {
    const folder = Buffer.from(text.slice(3), 'base64url').toString('utf8');
    // Only a canonical encoding names a folder: one path, one id.
    if (folderId(folder) === text) return { kind: 'folder', path: folder };
  }
  return undefined;
}

/** ISO 8601 for xs:dateTime. */
export function isoTime(ms: number): string {
  return new Date(Math.max(0, ms)).toISOString();
}

/** A file as a Subsonic `Child` (song). */
export function songOf(t: CatalogTrack): ResponseNode {
  const dir = path.posix.dirname(t.path);
  const suffix = path.posix.extname(t.path).slice(1).toLowerCase();
  return {
    id: trackId(t.id),
    parent: t.albumId !== undefined ? albumId(t.albumId) : folderId(dir === '.' ? '' : dir),
    isDir: false,
    title: t.title ?? path.posix.basename(t.path),
    album: t.album,
    artist: t.artist ?? t.albumArtist,
    track: t.track,
    year: t.year,
    genre: t.genre,
    coverArt: t.albumId !== undefined ? albumId(t.albumId) : trackId(t.id),
    size: t.size,
    contentType: audioContentType(t.path),
    suffix: suffix || undefined,
    duration: t.duration !== undefined ? Math.round(t.duration) : undefined,
    bitRate: t.bitrate !== undefined ? Math.round(t.bitrate / 1000) : undefined,
    path: t.path,
    isVideo: false,
    discNumber: t.disc,
    created: isoTime(t.mtimeMs),
    albumId: t.albumId !== undefined ? albumId(t.albumId) : undefined,
    artistId: t.artistId !== undefined ? artistId(t.artistId) : undefined,
    type: 'music',
    [SHAPE]: 'child',
  };
}

/** An album as `AlbumID3` (ID3 views: getAlbum, getAlbumList2, search3). */
export function albumID3Of(a: AlbumSummary): ResponseNode {
  return {
    id: albumId(a.id),
    name: a.name,
    artist: a.artist,
    artistId: artistId(a.artistId),
    coverArt: albumId(a.id),
    songCount: a.tracks,
    duration: Math.round(a.duration),
    created: isoTime(a.newestMs),
    year: a.year,
    genre: a.genre,
    [SHAPE]: 'albumID3',
  };
}

/** A folder of the library (a path below its root) as a directory `Child`. */
export function folderChildOf(folder: string): ResponseNode {
  const slash = folder.lastIndexOf('/');
  return { id: folderId(folder), parent: folderId(slash === -1 ? '' : folder.slice(0, slash)), isDir: true, title: folder.slice(slash + 1), [SHAPE]: 'child' };
}

/** An album as a directory `Child` (folder views: getAlbumList, search2). */
export function albumChildOf(a: AlbumSummary): ResponseNode {
  return {
    id: albumId(a.id),
    parent: artistId(a.artistId),
    isDir: true,
    title: a.name,
    album: a.name,
    artist: a.artist,
    year: a.year,
    genre: a.genre,
    coverArt: albumId(a.id),
    duration: Math.round(a.duration),
    created: isoTime(a.newestMs),
    artistId: artistId(a.artistId),
    [SHAPE]: 'child',
  };
}

/** An artist as `Artist` (folder views: search2, getStarred). */
export function artistOf(a: { id: number; name: string }): ResponseNode {
  return { id: artistId(a.id), name: a.name, [SHAPE]: 'artist' };
}

/** An artist as `ArtistID3` (getArtists, search3, getStarred2). */
export function artistID3Of(a: { id: number; name: string; albums: number }): ResponseNode {
  return { id: artistId(a.id), name: a.name, albumCount: a.albums, [SHAPE]: 'artistID3' };
}

/** Articles left out when artists are sorted into index letters ("The Beatles" under B). */
export const IGNORED_ARTICLES = 'The El La Los Las Le Les';

/** The index letter of a name: its first letter after an ignored article, `#` for anything else. */
export function indexLetterOf(name: string): string {
  let rest = name.trim();
  for (const article of IGNORED_ARTICLES.split(' ')) {
    if (rest.toLowerCase().startsWith(article.toLowerCase() + ' ')) {
      rest = rest.slice(article.length + 1).trimStart();
      break;
    }
  }
  const first = rest.normalize('NFD').replace(/\p{M}/gu, '').charAt(0).toUpperCase();
  return /^[A-Z]$/.test(first) ? first : '#';
}
