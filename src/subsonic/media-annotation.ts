import { listFolder } from '../library/index.js';
import type { UserItemKind } from '../library/user-data-store.js';
import type { Endpoint, SubsonicRequest } from './endpoint.js';
import { parseSubsonicId } from './item-shapes.js';
import { SubsonicError, SubsonicErrorCode } from './responses.js';

/** Most items one star, unstar or scrobble names (the form body's limit allows a few thousand). */
export const MAX_ITEMS_PER_CALL = 1000;

function notFound(what: string): SubsonicError {
  return new SubsonicError(SubsonicErrorCode.NOT_FOUND, `${what} not found`);
}

function listOf(request: SubsonicRequest, name: string): string[] {
  const values = request.params.all(name).filter((v) => v !== '');
  if (values.length > MAX_ITEMS_PER_CALL) throw new SubsonicError(SubsonicErrorCode.GENERIC, `at most ${MAX_ITEMS_PER_CALL} ${name} values per call`);
  return values;
}

/** A file id that names a file the library has now. @throws SubsonicError 70 */
export function existingTrackId(request: SubsonicRequest, text: string): number {
  const id = parseSubsonicId(text);
  const track = id?.kind === 'track' ? request.services.catalog.track(id.id) : undefined;
  if (!track || !request.services.library.current.byPath(track.path)) throw notFound(`song ${text.slice(0, 40)}`);
  return track.id;
}

/** A folder id (`fo-…`) that names a folder the library has now (never the root). */
function existingFolder(request: SubsonicRequest, text: string): string | undefined {
  const id = parseSubsonicId(text);
  return id?.kind === 'folder' && listFolder(request.services.library.current, id.path) ? id.path : undefined;
}

interface StarTargets {
  items: { kind: UserItemKind; id: number }[];
  /** Folders, by path: folder-based apps (stmp, DSub's folder mode) star directories. */
  folders: string[];
}

/**
 * The items a star or unstar names: `id` (a file, a folder, or an album or artist by our
 * prefixed ids, as folder-based apps send them), `albumId` and `artistId`; each must exist.
 */
function starTargets(request: SubsonicRequest): StarTargets {
  const { catalog, albums } = request.services;
  const targets: { kind: UserItemKind; id: number }[] = [];
  const folders: string[] = [];
  const add = (text: string, allowed: readonly UserItemKind[]): void => {
    const id = parseSubsonicId(text);
    const folder = allowed.includes('track') ? existingFolder(request, text) : undefined;
    if (folder !== undefined) folders.push(folder);
    else if (id?.kind === 'track' && allowed.includes('track')) targets.push({ kind: 'track', id: existingTrackId(request, text) });
    else if (id?.kind === 'album' && allowed.includes('album') && albums.album(id.id)) targets.push({ kind: 'album', id: id.id });
    else if (id?.kind === 'artist' && allowed.includes('artist') && catalog.artist(id.id)) targets.push({ kind: 'artist', id: id.id });
    else throw notFound(`item ${text.slice(0, 40)}`);
  };
  for (const text of listOf(request, 'id')) add(text, ['track', 'album', 'artist']);
  for (const text of listOf(request, 'albumId')) add(text, ['album']);
  for (const text of listOf(request, 'artistId')) add(text, ['artist']);
  if (targets.length === 0 && folders.length === 0) throw new SubsonicError(SubsonicErrorCode.MISSING_PARAMETER, 'required parameter is missing: id, albumId or artistId');
  return { items: targets, folders };
}

function byKind(targets: { kind: UserItemKind; id: number }[], kind: UserItemKind): number[] {
  return targets.filter((t) => t.kind === kind).map((t) => t.id);
}

/**
 * Media annotation (the spec's section): star, unstar, setRating and scrobble, recorded per
 * user in the server database (library/user-data-store.ts). Every id is checked before
 * anything is written: one unknown id fails the whole call (error 70).
 */
export const mediaAnnotationEndpoints: Record<string, Endpoint> = {
  star(request) {
    const { items, folders } = starTargets(request);
    const now = new Date();
    for (const kind of ['track', 'album', 'artist'] as const) request.userData.star(request.user.name, kind, byKind(items, kind), now);
    request.userData.starFolders(request.user.name, folders, now);
    return {};
  },

  unstar(request) {
    const { items, folders } = starTargets(request);
    for (const kind of ['track', 'album', 'artist'] as const) request.userData.unstar(request.user.name, kind, byKind(items, kind));
    request.userData.unstarFolders(request.user.name, folders);
    return {};
  },

  setRating(request) {
    const text = request.params.required('id');
    const ratingText = request.params.required('rating');
    if (!/^[0-5]$/.test(ratingText)) throw new SubsonicError(SubsonicErrorCode.GENERIC, 'rating must be a whole number from 0 (remove the rating) to 5');
    const folder = existingFolder(request, text);
    if (folder !== undefined) {
      request.userData.setFolderRating(request.user.name, folder, Number(ratingText));
      return {};
    }
    const id = parseSubsonicId(text);
    let target: { kind: UserItemKind; id: number };
    if (id?.kind === 'track') target = { kind: 'track', id: existingTrackId(request, text) };
    else if (id?.kind === 'album' && request.services.albums.album(id.id)) target = { kind: 'album', id: id.id };
    else if (id?.kind === 'artist' && request.services.catalog.artist(id.id)) target = { kind: 'artist', id: id.id };
    else throw notFound(`item ${text.slice(0, 40)}`);
    request.userData.setRating(request.user.name, target.kind, target.id, Number(ratingText));
    return {};
  },

  /**
   * `submission=true` (the default) counts a play of each file, at `time` (ms since the
   * epoch, one per id) or now, and sets its `played`; `submission=false` only reports it
   * as now playing (getNowPlaying), counting nothing.
   */
  scrobble(request) {
    const { params, services, userData, nowPlaying, user } = request;
    const ids = listOf(request, 'id');
    if (ids.length === 0) params.required('id');
    const times = params.all('time');
    const submission = (params.get('submission') ?? 'true') !== 'false';
    const tracks = ids.map((text) => services.catalog.track(existingTrackId(request, text))!);
    const player = params.get('c') ?? '';
    tracks.forEach((track, i) => {
      if (!submission) {
        nowPlaying.report(user.name, player, track.id);
        return;
      }
      const time = times[i] !== undefined && /^\d{1,15}$/.test(times[i]!) ? new Date(Number(times[i])) : new Date();
      userData.recordPlay(user.name, { trackId: track.id, ...(track.albumId !== undefined ? { albumId: track.albumId } : {}), ...(track.artistId !== undefined ? { artistId: track.artistId } : {}) }, time);
      nowPlaying.finished(user.name, player, track.id);
    });
    return {};
  },
};
