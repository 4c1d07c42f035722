import path from 'node:path';
import { listFolder, type CatalogArtist } from '../library/index.js';
import type { Endpoint, SubsonicServices } from './endpoint.js';
import { albumChildOf, albumID3Of, folderChildOf, artistID3Of, artistId, folderId, IGNORED_ARTICLES, indexLetterOf, MUSIC_FOLDER_ID, parseSubsonicId, songOf } from './item-shapes.js';
import type { SubsonicParams } from './request-params.js';
import { SHAPE, SubsonicError, SubsonicErrorCode, type ResponseNode } from './responses.js';

/** Most artists getArtists lists (every length limited; a page of the catalog is 500). */
export const MAX_INDEXED_ARTISTS = 100_000;

function notFound(what: string): SubsonicError {
  return new SubsonicError(SubsonicErrorCode.NOT_FOUND, `${what} not found`);
}

/** `musicFolderId`, when given, must be our one folder. */
function checkMusicFolder(params: SubsonicParams): void {
  const folder = params.get('musicFolderId');
  if (folder !== undefined && folder !== String(MUSIC_FOLDER_ID)) throw notFound('music folder');
}

function everyArtist(services: SubsonicServices): CatalogArtist[] {
  const artists: CatalogArtist[] = [];
  for (let offset = 0; offset < MAX_INDEXED_ARTISTS; ) {
    const page = services.catalog.artists({ offset, limit: 500 });
    artists.push(...page.items);
    offset += page.items.length;
    if (page.items.length === 0 || offset >= page.total) break;
  }
  return artists;
}

/** Groups named items under their index letters, letters in order and `#` last. */
function byLetter<T>(items: T[], nameOf: (item: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const letter = indexLetterOf(nameOf(item));
    let group = groups.get(letter);
    if (!group) groups.set(letter, (group = []));
    group.push(item);
  }
  return [...groups].sort(([a], [b]) => (a === '#' ? 1 : b === '#' ? -1 : a < b ? -1 : a > b ? 1 : 0));
}

/** A folder's listing as a `Directory` (subfolders first, then its files). */
function folderDirectory(services: SubsonicServices, folder: string): ResponseNode {
  const listing = listFolder(services.library.current, folder);
  if (!listing) throw notFound('directory');
  const parentPath = path.posix.dirname(folder);
  const children: ResponseNode[] = listing.folders.map((name) => folderChildOf(folder === '' ? name : `${folder}/${name}`));
  for (const track of services.catalog.tracksByPaths(listing.files)) children.push({ ...songOf(track), parent: folderId(folder) });
  return {
    id: folderId(folder),
    parent: folder === '' ? undefined : folderId(parentPath === '.' ? '' : parentPath),
    name: folder === '' ? 'Music' : path.posix.basename(folder),
    child: children,
    [SHAPE]: 'directory',
  };
}

/**
 * Browsing (the spec's section): the music folder, folder browsing (getIndexes,
 * getMusicDirectory: the library's real folders, and albums and artists by tags as
 * directories too), the ID3 views (getArtists, getArtist, getAlbum, getSong) and getGenres.
 */
export const browsingEndpoints: Record<string, Endpoint> = {
  getMusicFolders: () => ({ name: 'musicFolders', body: { musicFolder: [{ id: MUSIC_FOLDER_ID, name: 'Music' }] } }),

  /**
   * `lastModified` is when a scan last found the library changed (the snapshot's time; a
   * restart counts as a change, which only costs a client one full listing). With
   * `ifModifiedSince` at or after it, the answer carries no folders: nothing changed.
   */
  getIndexes({ params, services }) {
    checkMusicFolder(params);
    const index = services.library.current;
    const lastModified = index.scannedAt.getTime();
    const since = params.integer('ifModifiedSince', -1, -1, Number.MAX_SAFE_INTEGER);
    if (since >= lastModified) return { name: 'indexes', body: { lastModified, ignoredArticles: IGNORED_ARTICLES } };
    const top = listFolder(index, '')!;
    const folders = byLetter(top.folders, (name) => name);
    return {
      name: 'indexes',
      body: {
        lastModified,
        ignoredArticles: IGNORED_ARTICLES,
        index: folders.map(([letter, names]) => ({ name: letter, artist: names.map((name) => ({ id: folderId(name), name, [SHAPE]: 'artist' })) })),
        child: services.catalog.tracksByPaths(top.files).map((t) => ({ ...songOf(t), parent: folderId('') })),
      },
    };
  },

  getMusicDirectory({ params, services }) {
    const id = parseSubsonicId(params.required('id'));
    if (!id) throw notFound('directory');
    if (id.kind === 'root') return { name: 'directory', body: folderDirectory(services, '') };
    if (id.kind === 'folder') return { name: 'directory', body: folderDirectory(services, id.path) };
    if (id.kind === 'artist') {
      const artist = services.catalog.artist(id.id);
      if (!artist) throw notFound('artist');
      return { name: 'directory', body: { id: artistId(artist.id), name: artist.name, child: services.albums.artistAlbums(artist.id).map(albumChildOf), [SHAPE]: 'directory' } };
    }
    if (id.kind === 'album') {
      const album = services.albums.album(id.id);
      if (!album) throw notFound('album');
      return {
        name: 'directory',
        body: { id: `al-${album.id}`, parent: artistId(album.artistId), name: album.name, child: services.catalog.albumTracks(album.id).map(songOf), [SHAPE]: 'directory' },
      };
    }
    throw notFound('directory');
  },

  getArtists({ params, services }) {
    checkMusicFolder(params);
    return {
      name: 'artists',
      body: {
        ignoredArticles: IGNORED_ARTICLES,
        index: byLetter(everyArtist(services), (a) => a.name).map(([letter, artists]) => ({
          name: letter,
          artist: artists.map(artistID3Of),
        })),
      },
    };
  },

  getArtist({ params, services }) {
    const id = parseSubsonicId(params.required('id'));
    const artist = id?.kind === 'artist' ? services.catalog.artist(id.id) : undefined;
    if (!artist) throw notFound('artist');
    const albums = services.albums.artistAlbums(artist.id);
    return { name: 'artist', body: { ...artistID3Of({ ...artist, albums: albums.length }), album: albums.map(albumID3Of) } };
  },

  getAlbum({ params, services }) {
    const id = parseSubsonicId(params.required('id'));
    const album = id?.kind === 'album' ? services.albums.album(id.id) : undefined;
    if (!album) throw notFound('album');
    return { name: 'album', body: { ...albumID3Of(album), song: services.catalog.albumTracks(album.id).map(songOf) } };
  },

  getSong({ params, services }) {
    const id = parseSubsonicId(params.required('id'));
    const track = id?.kind === 'track' ? services.catalog.track(id.id) : undefined;
    if (!track || !services.library.current.byPath(track.path)) throw notFound('song');
    return { name: 'song', body: songOf(track) };
  },

  getGenres: ({ services }) => ({
    name: 'genres',
    body: { genre: services.albums.genres().map((g) => ({ songCount: g.tracks, albumCount: g.albums, value: g.name })) },
  }),
};
