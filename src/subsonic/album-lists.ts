import { listFolder, type AlbumListOrder, type AlbumListRequest, type AlbumSummary } from '../library/index.js';
import type { ListeningOrder } from '../library/user-data-store.js';
import type { Endpoint, SubsonicRequest } from './endpoint.js';
import { albumChildOf, albumID3Of, artistID3Of, artistOf, folderChildOf, songOf } from './item-shapes.js';
import { SubsonicError, SubsonicErrorCode, type ResponseNode } from './responses.js';

const ORDERS: readonly AlbumListOrder[] = ['random', 'newest', 'alphabeticalByName', 'alphabeticalByArtist', 'byYear', 'byGenre', 'frequent', 'recent', 'starred', 'highest'];
/** Most albums one list returns (the API's own limit). */
export const MAX_ALBUM_LIST_SIZE = 500;

/** The request of getAlbumList / getAlbumList2: `type`, `size` (10), `offset`, and the type's own parameters. */
function albumListRequest({ params }: SubsonicRequest): AlbumListRequest {
  const type = params.required('type');
  if (!(ORDERS as readonly string[]).includes(type)) throw new SubsonicError(SubsonicErrorCode.GENERIC, `unknown album list type "${type.slice(0, 40)}": use one of ${ORDERS.join(', ')}`);
  const request: AlbumListRequest = {
    order: type as AlbumListOrder,
    limit: params.integer('size', 10, 1, MAX_ALBUM_LIST_SIZE),
    offset: params.integer('offset', 0, 0, 1e9),
  };
  if (type === 'byYear') {
    request.fromYear = params.integer('fromYear', NaN, -1e6, 1e6);
    request.toYear = params.integer('toYear', NaN, -1e6, 1e6);
    if (Number.isNaN(request.fromYear)) params.required('fromYear');
    if (Number.isNaN(request.toYear)) params.required('toYear');
  }
  if (type === 'byGenre') request.genre = params.required('genre').slice(0, 256);
  return request;
}

const LISTENING_ORDERS: readonly string[] = ['frequent', 'recent', 'starred', 'highest'] satisfies ListeningOrder[];

/**
 * One page of an album list. The orders built from listening (frequent, recent, starred,
 * highest) come from the user's own data; the others from the library.
 */
function albumList(request: SubsonicRequest): AlbumSummary[] {
  const list = albumListRequest(request);
  if (!LISTENING_ORDERS.includes(list.order)) return request.services.albums.list(list).items;
  const ids = request.userData.albumsBy(request.user.name, list.order as ListeningOrder, { limit: list.limit ?? 10, offset: list.offset ?? 0 });
  return ids.flatMap((id) => request.services.albums.album(id) ?? []);
}

/** The user's starred items that the library still has, in folder (getStarred) or ID3 shapes. */
function starred(request: SubsonicRequest, id3: boolean): ResponseNode {
  const { services, userData, user } = request;
  const artists = userData.starred(user.name, 'artist').flatMap(({ id }) => services.catalog.artist(id) ?? []);
  const albums = userData.starred(user.name, 'album').flatMap(({ id }) => services.albums.album(id) ?? []);
  const songIds = userData.starred(user.name, 'track').map(({ id }) => id);
  const songs = [];
  for (let i = 0; i < songIds.length; i += 500) songs.push(...services.catalog.tracksByIds(songIds.slice(i, i + 500)));
  // Folders are of the folder view only (getStarred); getStarred2 is by tags.
  const folders = id3 ? [] : userData.starredFolders(user.name).filter((f) => listFolder(services.library.current, f.path) !== undefined);
  return {
    artist: artists.map((a) => (id3 ? artistID3Of(a) : artistOf(a))),
    album: [...folders.map((f) => folderChildOf(f.path)), ...albums.map(id3 ? albumID3Of : albumChildOf)],
    song: songs.filter((t) => services.library.current.byPath(t.path)).map(songOf),
  };
}

/** A year parameter, undefined when absent. */
function yearOf(request: SubsonicRequest, name: string): number | undefined {
  const year = request.params.integer(name, NaN, -1e6, 1e6);
  return Number.isNaN(year) ? undefined : year;
}

/**
 * Lists (the spec's section): getAlbumList (albums as directories) and getAlbumList2 (ID3),
 * getRandomSongs and getSongsByGenre.
 * Every `type` is accepted; `frequent`, `recent`, `starred` and `highest` follow the user's
 * plays, stars and ratings; `newest` orders by the newest file time. Also getStarred,
 * getStarred2 and getNowPlaying.
 */
export const albumListEndpoints: Record<string, Endpoint> = {
  getAlbumList: (request) => ({ name: 'albumList', body: { album: albumList(request).map(albumChildOf) } }),
  getRandomSongs(request) {
    const { params, services } = request;
    const genre = params.get('genre');
    const fromYear = yearOf(request, 'fromYear');
    const toYear = yearOf(request, 'toYear');
    const ids = services.albums.randomTrackIds({
      limit: params.integer('size', 10, 1, MAX_ALBUM_LIST_SIZE),
      ...(genre ? { genre: genre.slice(0, 256) } : {}),
      ...(fromYear !== undefined ? { fromYear } : {}),
      ...(toYear !== undefined ? { toYear } : {}),
    });
    return { name: 'randomSongs', body: { song: services.catalog.tracksByIds(ids).map(songOf) } };
  },
  getSongsByGenre({ params, services }) {
    const genre = params.required('genre').slice(0, 256);
    const ids = services.albums.genreTrackIds(genre, { limit: params.integer('count', 10, 1, MAX_ALBUM_LIST_SIZE), offset: params.integer('offset', 0, 0, 1e9) });
    return { name: 'songsByGenre', body: { song: services.catalog.tracksByIds(ids).map(songOf) } };
  },
  getAlbumList2: (request) => ({ name: 'albumList2', body: { album: albumList(request).map(albumID3Of) } }),
  getStarred: (request) => ({ name: 'starred', body: starred(request, false) }),
  getStarred2: (request) => ({ name: 'starred2', body: starred(request, true) }),
  /** Every user's players, as the spec has it (the original server showed everyone's). */
  getNowPlaying({ services, nowPlaying }) {
    const entries = nowPlaying.list();
    const tracks = new Map(services.catalog.tracksByIds(entries.map((e) => e.trackId)).map((t) => [t.id, t]));
    const now = Date.now();
    return {
      name: 'nowPlaying',
      body: {
        entry: entries.flatMap((e) => {
          const track = tracks.get(e.trackId);
          if (!track) return [];
          return [{ ...songOf(track), username: e.username, minutesAgo: Math.floor((now - e.atMs) / 60_000), playerId: e.playerId, playerName: e.playerName || undefined }];
        }),
      },
    };
  },
};
