import { listFolder, type PageRequest } from '../library/index.js';
import { HttpError, sendJson } from './responses.js';
import type { Route } from './router.js';

/** `offset` and `limit` from the query string (the catalog clamps them). */
export function pageOf(query: URLSearchParams): PageRequest {
  const page: PageRequest = {};
  for (const key of ['offset', 'limit'] as const) {
    const value = query.get(key);
    if (value === null) continue;
    if (!/^\d{1,9}$/.test(value)) throw new HttpError(400, 'BAD_REQUEST', `${key} must be a whole number`);
    page[key] = Number(value);
  }
  return page;
}

/** Longest folder path accepted in a query (every length limited). */
const MAX_FOLDER_PATH = 4096;

/**
 * Browsing: artists → albums → tracks (album artist first; disc and track order), and
 * folders as the library lays them out. Answers come from the database and the current
 * snapshot, paged.
 */
export const browsingRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/artists',
    handler: ({ req, res, query, context }) => sendJson(req, res, 200, context.catalog.artists(pageOf(query))),
  },
  {
    method: 'GET',
    pattern: '/api/artists/:id',
    handler({ req, res, ids, query, context }) {
      const artist = context.catalog.artist(ids.id!);
      if (!artist) throw new HttpError(404, 'NOT_FOUND', 'no artist has that id: reload the list');
      sendJson(req, res, 200, { artist, albums: context.catalog.artistAlbums(artist.id, pageOf(query)) });
    },
  },
  {
    method: 'GET',
    pattern: '/api/albums',
    handler: ({ req, res, query, context }) => sendJson(req, res, 200, context.catalog.albums(pageOf(query))),
  },
  {
    method: 'GET',
    pattern: '/api/albums/:id',
    handler({ req, res, ids, context }) {
      const album = context.catalog.album(ids.id!);
      if (!album) throw new HttpError(404, 'NOT_FOUND', 'no album has that id: reload the list');
      sendJson(req, res, 200, { album, tracks: context.catalog.albumTracks(album.id) });
    },
  },
  {
    method: 'GET',
    pattern: '/api/folders',
    handler({ req, res, query, context }) {
      const folder = (query.get('path') ?? '').replace(/^\/+|\/+$/g, '');
      if (folder.length > MAX_FOLDER_PATH) throw new HttpError(400, 'BAD_REQUEST', `a folder path may be at most ${MAX_FOLDER_PATH} characters`);
      // Compared with the scan's paths only; never opened.
      const listing = listFolder(context.library.current, folder);
      if (!listing) throw new HttpError(404, 'NOT_FOUND', 'no such folder in the library');
      sendJson(req, res, 200, { folder: listing.folder, folders: listing.folders, tracks: context.catalog.tracksByPaths(listing.files), truncated: listing.truncated });
    },
  },
  {
    method: 'GET',
    pattern: '/api/tracks/:id',
    handler({ req, res, ids, context }) {
      const track = context.catalog.track(ids.id!);
      if (!track || !context.library.current.byPath(track.path)) throw new HttpError(404, 'NOT_FOUND', 'no file has that id: reload the list');
      sendJson(req, res, 200, track);
    },
  },
];
