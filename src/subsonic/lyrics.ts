import type { CatalogTrack } from '../library/index.js';
import type { TrackLyrics } from '../library/lyrics.js';
import type { Endpoint, SubsonicRequest } from './endpoint.js';
import { parseSubsonicId } from './item-shapes.js';
import { SubsonicError, SubsonicErrorCode, type ResponseNode } from './responses.js';

/** Files looked at for one getLyrics by artist and title. */
const MAX_LYRICS_CANDIDATES = 50;

/** Text compared case- and accent-blind, spaces folded. */
function folded(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

async function lyricsOfTrack(request: SubsonicRequest, track: CatalogTrack): Promise<TrackLyrics[]> {
  const entry = request.services.library.current.byPath(track.path);
  return entry ? request.lyrics.lyricsOf(entry) : [];
}

/**
 * Lyrics (the spec's media retrieval section): embedded in the file, or a `.lrc` file of the
 * same name beside it (library/lyrics.ts). getLyricsBySongId (the `songLyrics` extension)
 * answers every set found, synced lines with their start times; getLyrics (the original API)
 * the plain text of the first file whose title (and artist, when given) match.
 */
export const lyricsEndpoints: Record<string, Endpoint> = {
  async getLyricsBySongId(request) {
    const text = request.params.required('id');
    const id = parseSubsonicId(text);
    const track = id?.kind === 'track' ? request.services.catalog.track(id.id) : undefined;
    if (!track || !request.services.library.current.byPath(track.path)) throw new SubsonicError(SubsonicErrorCode.NOT_FOUND, 'song not found');
    const found = await lyricsOfTrack(request, track);
    const structured: ResponseNode[] = found.map((l) => ({
      displayArtist: l.artist ?? track.artist ?? track.albumArtist,
      displayTitle: l.title ?? track.title,
      lang: l.language ?? 'und',
      offset: l.offsetMs,
      synced: l.synced,
      line: l.lines.map((line) => ({ start: l.synced ? line.startMs : undefined, value: line.text })),
    }));
    return { name: 'lyricsList', body: { structuredLyrics: structured } };
  },

  async getLyrics(request) {
    const artist = request.params.get('artist')?.slice(0, 256);
    const title = request.params.get('title')?.slice(0, 256);
    if (!title) return { name: 'lyrics', body: { artist, value: '' } };
    const candidates = request.services.catalog.search(title, { limit: MAX_LYRICS_CANDIDATES, offset: 0 }).items.filter(
      (t) => t.title !== undefined && folded(t.title) === folded(title) && (!artist || [t.artist, t.albumArtist].some((a) => a !== undefined && folded(a) === folded(artist))),
    );
    for (const track of candidates) {
      const found = await lyricsOfTrack(request, track);
      const chosen = found.find((l) => !l.synced) ?? found[0];
      if (chosen) return { name: 'lyrics', body: { artist: track.artist ?? track.albumArtist, title: track.title, value: chosen.lines.map((l) => l.text).join('\n') } };
    }
    return { name: 'lyrics', body: { artist, title, value: '' } };
  },
};
