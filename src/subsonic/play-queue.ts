import { MAX_PLAYLIST_ENTRIES } from '../library/user-data-store.js';
import type { Endpoint } from './endpoint.js';
import { isoTime, parseSubsonicId, songOf, trackId } from './item-shapes.js';
import { existingTrackId } from './media-annotation.js';
import { SubsonicError, SubsonicErrorCode } from './responses.js';

/**
 * The play queue (the spec's "bookmarks" section): one per user, saved by an app so another
 * (or the same after a restart) resumes where it stopped. `current` is a file id, `position`
 * milliseconds into it, `changedBy` the saving app's `c`.
 */
export const playQueueEndpoints: Record<string, Endpoint> = {
  getPlayQueue(request) {
    const { userData, user, services } = request;
    const queue = userData.playQueue(user.name);
    if (!queue) return { name: 'playQueue', body: { username: user.name, changed: isoTime(0), changedBy: '' } };
    const tracks = [];
    for (let i = 0; i < queue.trackIds.length; i += 500) tracks.push(...services.catalog.tracksByIds(queue.trackIds.slice(i, i + 500)));
    const present = new Map(tracks.filter((t) => services.library.current.byPath(t.path)).map((t) => [t.id, t]));
    return {
      name: 'playQueue',
      body: {
        current: queue.current !== undefined && present.has(queue.current) ? trackId(queue.current) : undefined,
        position: queue.positionMs,
        username: user.name,
        changed: queue.changed,
        changedBy: queue.changedBy,
        entry: queue.trackIds.flatMap((id) => (present.has(id) ? [songOf(present.get(id)!)] : [])),
      },
    };
  },

  /** No `id` clears the queue. */
  savePlayQueue(request) {
    const { params, userData, user } = request;
    const texts = params.all('id').filter((v) => v !== '');
    if (texts.length > MAX_PLAYLIST_ENTRIES) throw new SubsonicError(SubsonicErrorCode.GENERIC, `a play queue holds at most ${MAX_PLAYLIST_ENTRIES} songs`);
    const ids = texts.map((text) => existingTrackId(request, text));
    const currentText = params.get('current');
    let current: number | undefined;
    if (currentText !== undefined && currentText !== '') {
      const parsed = parseSubsonicId(currentText);
      if (parsed?.kind !== 'track' || !ids.includes(parsed.id)) throw new SubsonicError(SubsonicErrorCode.GENERIC, 'current must be one of the queue\'s ids');
      current = parsed.id;
    }
    const positionMs = params.integer('position', 0, 0, 1e12);
    userData.savePlayQueue(user.name, { trackIds: ids, ...(current !== undefined ? { current } : {}), positionMs, changedBy: params.get('c') ?? '' }, new Date());
    return {};
  },
};
