import type { V2Entry } from '../protocol/index.js';
import type { IAudioMetadata } from 'music-metadata';
import type { SyncFileTokenizer } from './sync-file-tokenizer.js';

/**
 * What the listing shows about a file beyond its path: tags and technical details, the
 * fields of a v2 listing record that come from the file's content.
 */
export type AudioTags = Omit<V2Entry, 'path' | 'size' | 'mtime' | 'sha256'>;

// music-metadata is loaded on first use, so that starting the server or the client's
// --help does not pay for it.
let parser: Promise<typeof import('music-metadata')> | undefined;
let syncTokenizer: Promise<typeof import('./sync-file-tokenizer.js')> | undefined;

/**
 * Reads tags and format details with music-metadata, through synchronous reads
 * (SyncFileTokenizer): about three times faster than its own async file reader, but it
 * blocks its thread while the disk answers, so it runs on worker threads only
 * (tag-worker-pool.ts). The file is opened through the library's safe-open primitive, and
 * no parse may read or allocate more than MAX_TAG_READ_BYTES (sync-file-tokenizer.ts).
 *
 * A file whose tags cannot be parsed yields an empty object, never an error: tags are a
 * nicety. A file that cannot be opened safely (gone, not a regular file, or now reached
 * through a link out of the library) yields `undefined`: there is nothing to remember
 * about it, and the next pass tries again.
 */
export async function readTagsBlocking(realRoot: string, relativePath: string): Promise<AudioTags | undefined> {
  parser ??= import('music-metadata');
  const { parseFromTokenizer } = await parser;
  syncTokenizer ??= import('./sync-file-tokenizer.js');
  const { SyncFileTokenizer } = await syncTokenizer;
  let tokenizer: SyncFileTokenizer;
  try {
    tokenizer = SyncFileTokenizer.openInLibrary(realRoot, relativePath);
  } catch {
    return undefined;
  }
  try {
    return tagsOf(await parseFromTokenizer(tokenizer, TAG_PARSE_OPTIONS));
  } catch {
    return {};
  } finally {
    await tokenizer.close().catch(() => {});
  }
}

/** Covers skipped, duration from headers (no full-file scan): reading stays cheap. */
export const TAG_PARSE_OPTIONS = { skipCovers: true, duration: false, skipPostHeaders: true } as const;

/** The fields of a listing record that music-metadata's result provides. */
export function tagsOf({ common, format }: IAudioMetadata): AudioTags {
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
}
