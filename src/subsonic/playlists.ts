import type { CatalogTrack } from '../library/index.js';
import { MAX_PLAYLIST_ENTRIES, type PlaylistRow } from '../library/user-data-store.js';
import type { Endpoint, SubsonicRequest } from './endpoint.js';
import { albumId, isoTime, songOf, trackId } from './item-shapes.js';
import { existingTrackId } from './media-annotation.js';
import { SubsonicError, SubsonicErrorCode, type ResponseNode } from './responses.js';

/** Playlist ids: `pl-N`, N the database id. */
export const playlistId = (id: number): string => `pl-${id}`;

function parsePlaylistId(text: string): number | undefined {
  const match = /^pl-([1-9][0-9]{0,14})$/.exec(text);
  return match ? Number(match[1]) : undefined;
}

function notFound(): SubsonicError {
  return new SubsonicError(SubsonicErrorCode.NOT_FOUND, 'playlist not found');
}

/** A playlist `user` may read: their own or a public one; another's private one is not found. */
function readable(request: SubsonicRequest, text: string): PlaylistRow {
  const id = parsePlaylistId(text);
  const playlist = id === undefined ? undefined : request.userData.playlist(id);
  if (!playlist || (playlist.owner !== request.user.name && !playlist.public)) throw notFound();
  return playlist;
}

/** A playlist `user` may change: their own only (error 50 for another's). */
function owned(request: SubsonicRequest, text: string): PlaylistRow {
  const playlist = readable(request, text);
  if (playlist.owner !== request.user.name) throw new SubsonicError(SubsonicErrorCode.NOT_AUTHORISED, 'only the owner may change or delete a playlist');
  return playlist;
}

/** The stored entries with the file each names now; entries whose file left the library are absent. */
function visibleEntries(request: SubsonicRequest, id: number): { position: number; track: CatalogTrack }[] {
  const ids = request.userData.playlistEntries(id);
  const tracks = new Map<number, CatalogTrack>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 500) for (const t of request.services.catalog.tracksByIds(unique.slice(i, i + 500))) tracks.set(t.id, t);
  const current = request.services.library.current;
  return ids.flatMap((trackId, position) => {
    const track = tracks.get(trackId);
    return track && current.byPath(track.path) ? [{ position, track }] : [];
  });
}

function songIds(request: SubsonicRequest, name: string): number[] {
  const values = request.params.all(name).filter((v) => v !== '');
  if (values.length > MAX_PLAYLIST_ENTRIES) throw new SubsonicError(SubsonicErrorCode.GENERIC, `a playlist holds at most ${MAX_PLAYLIST_ENTRIES} songs`);
  return values.map((text) => existingTrackId(request, text));
}

function playlistNode(playlist: PlaylistRow, tracks: CatalogTrack[]): ResponseNode {
  const first = tracks[0];
  return {
    id: playlistId(playlist.id),
    name: playlist.name,
    comment: playlist.comment,
    owner: playlist.owner,
    public: playlist.public,
    songCount: tracks.length,
    duration: Math.round(tracks.reduce((sum, t) => sum + (t.duration ?? 0), 0)),
    created: isoTime(Date.parse(playlist.created)),
    changed: isoTime(Date.parse(playlist.changed)),
    coverArt: first ? (first.albumId !== undefined ? albumId(first.albumId) : trackId(first.id)) : undefined,
  };
}

function withSongs(request: SubsonicRequest, playlist: PlaylistRow): ResponseNode {
  const tracks = visibleEntries(request, playlist.id).map((e) => e.track);
  return { ...playlistNode(playlist, tracks), entry: tracks.map(songOf) };
}

/** "true"/"false" as the API sends booleans; undefined when absent. */
function booleanParam(request: SubsonicRequest, name: string): boolean | undefined {
  const text = request.params.get(name);
  if (text === undefined || text === '') return undefined;
  if (text !== 'true' && text !== 'false') throw new SubsonicError(SubsonicErrorCode.GENERIC, `parameter ${name} must be true or false`);
  return text === 'true';
}

/**
 * Playlists (the spec's section), per user in the server database: a user sees their own
 * and everyone's public ones, and only the owner changes or deletes one (error 50). Entries
 * are the library's file ids; one whose file left the library is skipped in every answer
 * (and in songIndexToRemove's numbering, which follows what the client was shown).
 */
export const playlistEndpoints: Record<string, Endpoint> = {
  getPlaylists(request) {
    const asked = request.params.get('username');
    if (asked !== undefined && asked !== request.user.name && request.user.role !== 'admin') {
      throw new SubsonicError(SubsonicErrorCode.NOT_AUTHORISED, "only an admin may list another user's playlists");
    }
    const name = asked ?? request.user.name;
    const playlists = request.userData.playlistsVisibleTo(name).filter((p) => asked === undefined || p.owner === name);
    return { name: 'playlists', body: { playlist: playlists.map((p) => playlistNode(p, visibleEntries(request, p.id).map((e) => e.track))) } };
  },

  getPlaylist(request) {
    return { name: 'playlist', body: withSongs(request, readable(request, request.params.required('id'))) };
  },

  /** With `playlistId`, replaces that playlist's songs (owner only); else makes one named `name`. */
  createPlaylist(request) {
    const { params, userData, user } = request;
    const replaced = params.get('playlistId');
    const ids = songIds(request, 'songId');
    const now = new Date();
    let id: number;
    if (replaced !== undefined && replaced !== '') {
      const playlist = owned(request, replaced);
      const name = params.get('name');
      userData.updatePlaylist(playlist.id, { ...(name ? { name } : {}), trackIds: ids }, now);
      id = playlist.id;
    } else {
      const made = userData.createPlaylist(user.name, params.required('name'), ids, now);
      if (made === undefined) throw new SubsonicError(SubsonicErrorCode.GENERIC, 'this user has the most playlists allowed: delete one first');
      id = made;
    }
    return { name: 'playlist', body: withSongs(request, userData.playlist(id)!) };
  },

  updatePlaylist(request) {
    const { params, userData } = request;
    const playlist = owned(request, params.required('playlistId'));
    const added = songIds(request, 'songIdToAdd');
    const removeTexts = params.all('songIndexToRemove');
    let trackIds: number[] | undefined;
    if (added.length > 0 || removeTexts.length > 0) {
      const stored = userData.playlistEntries(playlist.id);
      const visible = visibleEntries(request, playlist.id);
      const removed = new Set<number>();
      for (const text of removeTexts) {
        if (!/^\d{1,9}$/.test(text) || Number(text) >= visible.length) throw new SubsonicError(SubsonicErrorCode.GENERIC, `songIndexToRemove ${text.slice(0, 20)} is not an index of the playlist (it has ${visible.length} songs)`);
        removed.add(visible[Number(text)]!.position);
      }
      trackIds = [...stored.filter((_, position) => !removed.has(position)), ...added];
      if (trackIds.length > MAX_PLAYLIST_ENTRIES) throw new SubsonicError(SubsonicErrorCode.GENERIC, `a playlist holds at most ${MAX_PLAYLIST_ENTRIES} songs`);
    }
    const name = params.get('name');
    const comment = params.get('comment');
    const isPublic = booleanParam(request, 'public');
    userData.updatePlaylist(playlist.id, { ...(name ? { name } : {}), ...(comment !== undefined ? { comment } : {}), ...(isPublic !== undefined ? { public: isPublic } : {}), ...(trackIds ? { trackIds } : {}) }, new Date());
    return {};
  },

  deletePlaylist(request) {
    const playlist = owned(request, request.params.required('id'));
    request.userData.deletePlaylist(playlist.id);
    return {};
  },
};
