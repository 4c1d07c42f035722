import type { Endpoint, SubsonicRequest } from './endpoint.js';
import { albumChildOf, albumID3Of, artistID3Of, artistOf, songOf } from './item-shapes.js';
import type { ResponseNode } from './responses.js';

/** Most items of one kind a search returns per page. */
export const MAX_SEARCH_COUNT = 500;

/**
 * The search text: an empty query, and `""` (what several apps send for "everything"),
 * match every item, so offline-sync apps can page through the whole library.
 */
function searchText(request: SubsonicRequest): string {
  const query = (request.params.get('query') ?? '').trim();
  return query === '""' ? '' : query.replace(/^"|"$/g, '').replace(/\*$/, '');
}

function page(request: SubsonicRequest, kind: 'artist' | 'album' | 'song'): { limit: number; offset: number } {
  return { limit: request.params.integer(`${kind}Count`, 20, 0, MAX_SEARCH_COUNT), offset: request.params.integer(`${kind}Offset`, 0, 0, 1e9) };
}

function search(request: SubsonicRequest, id3: boolean): ResponseNode {
  const text = searchText(request);
  const { services } = request;
  const artists = page(request, 'artist');
  const albums = page(request, 'album');
  const songs = page(request, 'song');
  const songPage = songs.limit === 0 ? [] : (text === '' ? services.catalog.allTracks(songs) : services.catalog.search(text, songs)).items;
  return {
    artist: artists.limit === 0 ? [] : services.albums.searchArtists(text, artists).items.map((a) => (id3 ? artistID3Of({ ...a, albums: services.catalog.artist(a.id)?.albums ?? 0 }) : artistOf(a))),
    album: albums.limit === 0 ? [] : services.albums.searchAlbums(text, albums).items.map(id3 ? albumID3Of : albumChildOf),
    song: songPage.map(songOf),
  };
}

/** Searching (the spec's section): search2 (folder shapes) and search3 (ID3 shapes). */
export const searchingEndpoints: Record<string, Endpoint> = {
  search2: (request) => ({ name: 'searchResult2', body: search(request, false) }),
  search3: (request) => ({ name: 'searchResult3', body: search(request, true) }),
};
