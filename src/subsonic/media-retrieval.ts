import path from 'node:path';
import fresh from 'fresh';
import type { CatalogTrack } from '../library/index.js';
import { sendFile } from '../http/file-responder.js';
import { openLibraryFile } from '../http/library-files.js';
import { audioContentType } from '../http/media-types.js';
import { HttpError } from '../http/responses.js';
import { SENT, type Endpoint, type EndpointResult, type SubsonicRequest } from './endpoint.js';
import { parseSubsonicId } from './item-shapes.js';
import { SubsonicError, SubsonicErrorCode } from './responses.js';

/**
 * The original bytes of a file, with the web interface's file semantics (ranges, validators,
 * HEAD: http/file-responder.ts) and the library's checked open. No transcoding: `format` and
 * `maxBitRate` are ignored and no `transcodedContentType` is ever announced. Not counted as
 * a play (plays are recorded by scrobble, which is not implemented yet).
 */
async function sendTrack(request: SubsonicRequest, download: boolean): Promise<typeof SENT> {
  const id = parseSubsonicId(request.params.required('id'));
  const track = id?.kind === 'track' ? request.services.catalog.track(id.id) : undefined;
  let opened;
  try {
    opened = await openLibraryFile(request.services.library, track);
  } catch (err) {
    if (err instanceof HttpError && (err.status === 404 || err.code === 'FILE_VANISHED')) throw new SubsonicError(SubsonicErrorCode.NOT_FOUND, 'song not found');
    if (err instanceof HttpError) throw new SubsonicError(SubsonicErrorCode.GENERIC, err.message);
    throw err;
  }
  await sendFile(request.req, request.res, {
    file: opened.file,
    stat: opened.stat,
    name: path.posix.basename(opened.entry.path),
    contentType: audioContentType(opened.entry.path),
    ...(opened.sha256 ? { sha256: opened.sha256 } : {}),
    download,
  });
  return SENT;
}

/** The track whose picture stands for an id: a file itself, or an album's first with a picture. */
function coverTrack(request: SubsonicRequest): CatalogTrack | undefined {
  const id = parseSubsonicId(request.params.required('id'));
  const { catalog } = request.services;
  if (id?.kind === 'track') return catalog.track(id.id);
  if (id?.kind === 'album') {
    const album = catalog.album(id.id);
    if (!album) return undefined;
    const trackId = album.pictureTrackId ?? catalog.albumTracks(album.id)[0]?.id;
    return trackId === undefined ? undefined : catalog.track(trackId);
  }
  return undefined;
}

/**
 * Media retrieval (the spec's section): stream, download and getCoverArt. getCoverArt answers
 * with the picture (embedded, else an image beside the file: library/cover-art.ts), scaled
 * down to `size` by ffmpeg when it is larger (cover-scaling.ts), else the original.
 */
export const mediaRetrievalEndpoints: Record<string, Endpoint> = {
  stream: (request) => sendTrack(request, false),
  download: (request) => sendTrack(request, true),
  async getCoverArt(request): Promise<EndpointResult> {
    const track = coverTrack(request);
    const entry = track ? request.services.library.current.byPath(track.path) : undefined;
    const original = track && entry ? await request.services.covers.coverOf(entry, track.picture === true) : undefined;
    if (!original) throw new SubsonicError(SubsonicErrorCode.NOT_FOUND, 'cover art not found');
    const size = request.params.integer('size', 0, 0, 1e6);
    const image = size > 0 ? await request.coverScaler.scaled(original, size) : original;
    const { req, res } = request;
    res.setHeader('ETag', image.etag);
    res.setHeader('Cache-Control', 'private, no-cache');
    if (fresh(req.headers, { etag: image.etag })) {
      res.statusCode = 304;
      res.end();
      return SENT;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', image.contentType);
    res.setHeader('Content-Length', image.body.length);
    res.end(req.method === 'HEAD' ? undefined : image.body);
    return SENT;
  },
};
