import type { AlbumListOrder, AlbumListRequest } from '../library/index.js';
import type { Endpoint, SubsonicRequest } from './endpoint.js';
import { albumChildOf, albumID3Of, songOf } from './item-shapes.js';
import { SubsonicError, SubsonicErrorCode } from './responses.js';

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

/** A year parameter, undefined when absent. */
function yearOf(request: SubsonicRequest, name: string): number | undefined {
  const year = request.params.integer(name, NaN, -1e6, 1e6);
  return Number.isNaN(year) ? undefined : year;
}

/**
 * Lists (the spec's section): getAlbumList (albums as directories) and getAlbumList2 (ID3),
 * getRandomSongs and getSongsByGenre.
 * Every `type` is accepted; `frequent`, `recent`, `starred` and `highest` are empty until
 * plays, stars and ratings are recorded; `newest` orders by the newest file time.
 */
export const albumListEndpoints: Record<string, Endpoint> = {
  getAlbumList: (request) => ({ name: 'albumList', body: { album: request.services.albums.list(albumListRequest(request)).items.map(albumChildOf) } }),
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
  getAlbumList2: (request) => ({ name: 'albumList2', body: { album: request.services.albums.list(albumListRequest(request)).items.map(albumID3Of) } }),
};
