import type { V2Entry } from '../protocol/index.js';
import type { LibraryEntry } from './scan.js';

/**
 * What the listing shows about a file beyond its path: tags and technical details, the
 * fields of a v2 listing record that come from the file's content.
 */
export type AudioTags = Omit<V2Entry, 'path' | 'size' | 'mtime' | 'sha256'>;

// music-metadata is loaded on first use, so that starting the server or the client's
// --help does not pay for it.
let parser: Promise<typeof import('music-metadata')> | undefined;

/**
 * Reads tags and format details with music-metadata. Covers are skipped and the duration
 * is taken from headers (no full-file scan), so reading stays cheap. A file whose tags
 * cannot be read yields an empty object, never an error: tags are a nicety.
 */
export async function readTags(entry: Pick<LibraryEntry, 'absolutePath'>): Promise<AudioTags> {
  parser ??= import('music-metadata');
  const { parseFile } = await parser;
  try {
    const { common, format } = await parseFile(entry.absolutePath, { skipCovers: true, duration: false, skipPostHeaders: true });
    const tags: AudioTags = {};
    if (common.title) tags.title = common.title;
    if (common.artist) tags.artist = common.artist;
    if (common.album) tags.album = common.album;
    if (common.track?.no) tags.track = common.track.no;
    if (format.duration !== undefined && Number.isFinite(format.duration)) tags.duration = Math.round(format.duration * 1000) / 1000;
    if (format.codec) tags.codec = format.codec;
    if (format.sampleRate) tags.sampleRate = format.sampleRate;
    if (format.bitrate && Number.isFinite(format.bitrate)) tags.bitrate = Math.round(format.bitrate);
    return tags;
  } catch {
    return {};
  }
}
