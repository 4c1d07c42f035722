import type { IncomingMessage, ServerResponse } from 'node:http';
import fresh from 'fresh';
import type { CatalogTrack, CoverImage } from '../library/index.js';
import { HttpError } from './responses.js';
import type { Route } from './router.js';
import type { WebContext } from './web-context.js';

/**
 * Cover art: GET /api/tracks/:id/cover and /api/albums/:id/cover answer with the picture
 * (embedded, else an image beside the file: library/cover-art.ts) with its own strong ETag,
 * or with the placeholder image where there is none, so an <img> always has something.
 */
export const coverArtRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/api/tracks/:id/cover',
    async handler({ req, res, ids, context }) {
      await sendCover(req, res, context, context.catalog.track(ids.id!));
    },
  },
  {
    method: 'GET',
    pattern: '/api/albums/:id/cover',
    async handler({ req, res, ids, context }) {
      const album = context.catalog.album(ids.id!);
      if (!album) throw new HttpError(404, 'NOT_FOUND', 'no album has that id: reload the list');
      const trackId = album.pictureTrackId ?? context.catalog.albumTracks(album.id)[0]?.id;
      await sendCover(req, res, context, trackId === undefined ? undefined : context.catalog.track(trackId));
    },
  },
];

async function sendCover(req: IncomingMessage, res: ServerResponse, context: WebContext, track: CatalogTrack | undefined): Promise<void> {
  const entry = track ? context.library.current.byPath(track.path) : undefined;
  if (!track || !entry) throw new HttpError(404, 'NOT_FOUND', 'no file has that id: reload the list');
  const image = await context.covers.coverOf(entry, track.picture === true);
  if (!image) {
    context.assets.serve(req, res, '/assets/placeholder-cover.svg');
    return;
  }
  sendImage(req, res, image);
}

function sendImage(req: IncomingMessage, res: ServerResponse, image: CoverImage): void {
  res.setHeader('ETag', image.etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  if (fresh(req.headers, { etag: image.etag })) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', image.contentType);
  res.setHeader('Content-Length', image.body.length);
  res.end(req.method === 'HEAD' ? undefined : image.body);
}
