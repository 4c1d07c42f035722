import type { V2Entry } from '../protocol/index.js';
import fs from 'node:fs';
import { openLibraryFileSync, type OpenedLibraryFileSync } from './safe-open.js';
import { shareTagMaps } from './shared-tag-maps.js';
import type { SyncFileTokenizer } from './sync-file-tokenizer.js';
import { FileWindowSource } from './tag-formats/file-window-source.js';
import { NOT_SURE, readFastTags, type FastMetadata, type NotSure } from './tag-formats/fast-tag-reader.js';
import { OGG_HEAD_BYTES, OGG_TAIL_BYTES, oggDuration } from './tag-formats/ogg-duration.js';
import type { ByteSource } from './tag-formats/byte-source.js';

/**
 * What is read from a file's content: the fields of a v2 listing record beyond path, size,
 * time and hash, and what the library database keeps besides (albums and artists are
 * derived from album artist, artist and album).
 */
export type AudioTags = Omit<V2Entry, 'path' | 'size' | 'mtime' | 'sha256'> & {
  albumArtist?: string;
  disc?: number;
  year?: number;
  genre?: string;
  /** The file embeds a picture (cover art). */
  picture?: boolean;
};

// music-metadata is loaded on first use, so that starting the server or the client's
// --help does not pay for it, nor a tag worker whose files all take the fast path. Its tag
// maps are shared between parses from then on (shared-tag-maps.ts).
let parser: Promise<typeof import('music-metadata')> | undefined;
let syncTokenizer: Promise<typeof import('./sync-file-tokenizer.js')> | undefined;

/**
 * Reads tags and format details of a file of the library, with blocking reads: it runs on
 * worker threads only (tag-worker-pool.ts). The file is opened through the library's
 * safe-open primitive. The fast path (tag-formats/fast-tag-reader.ts) reads the common
 * formats from one 64 KiB read and answers only when its answer is music-metadata's; for
 * every other file music-metadata parses it, through synchronous reads (SyncFileTokenizer:
 * about three times faster than its own async file reader). No parse may read or allocate
 * more than MAX_TAG_READ_BYTES.
 *
 * A file whose tags cannot be parsed yields an empty object, never an error: tags are a
 * nicety. A file that cannot be opened safely (gone, not a regular file, or now reached
 * through a link out of the library) yields `undefined`: there is nothing to remember
 * about it, and the next pass tries again.
 */
export async function readTagsBlocking(realRoot: string, relativePath: string): Promise<AudioTags | undefined> {
  let opened: OpenedLibraryFileSync;
  try {
    opened = openLibraryFileSync(realRoot, relativePath);
  } catch {
    return undefined;
  }
  const { fd, stat } = opened;
  let fast: FastMetadata | NotSure = NOT_SURE;
  let source: FileWindowSource | undefined;
  try {
    source = new FileWindowSource(fd, stat.size);
    fast = readFastTags(source, relativePath);
  } catch {
    // A read error or a parser bug: music-metadata gets its chance.
  }
  if (fast !== NOT_SURE) {
    try {
      return withOggDuration(() => source!, tagsOf(fast));
    } finally {
      fs.closeSync(fd);
    }
  }
  return readWithMusicMetadata(fd, stat.size, relativePath);
}

/** music-metadata's parse of an opened file (it closes `fd`). */
async function readWithMusicMetadata(fd: number, size: number, relativePath: string): Promise<AudioTags> {
  let tokenizer: SyncFileTokenizer;
  try {
    parser ??= shareTagMaps().then(() => import('music-metadata'));
    syncTokenizer ??= import('./sync-file-tokenizer.js');
    tokenizer = (await syncTokenizer).SyncFileTokenizer.ofOpenFile(fd, size, relativePath);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  try {
    const { parseFromTokenizer } = await parser;
    return withOggDuration(() => new FileWindowSource(fd, size), tagsOf(await parseFromTokenizer(tokenizer, TAG_PARSE_OPTIONS)));
  } catch {
    return {};
  } finally {
    await tokenizer.close().catch(() => {});
  }
}

/**
 * An Ogg Vorbis or Opus file's duration from its last page (tag-formats/ogg-duration.ts),
 * where the parse gave none. Through the fast path's reads (its source, or one made when
 * music-metadata parsed the file): the first bytes are already in its window, the last
 * 64 KiB is one more read. Any failure leaves the tags as they are.
 */
function withOggDuration(sourceOf: () => ByteSource, tags: AudioTags): AudioTags {
  if (tags.duration !== undefined || (tags.codec !== 'Vorbis I' && tags.codec !== 'Opus')) return tags;
  try {
    const bytes = sourceOf();
    const tailLength = Math.min(bytes.size, OGG_TAIL_BYTES);
    // The head is served from the first window, which a later read never overwrites.
    const head = bytes.read(0, Math.min(bytes.size, OGG_HEAD_BYTES));
    const tail = bytes.read(bytes.size - tailLength, tailLength);
    const seconds = head && tail ? oggDuration(head, tail, tags.codec, tags.sampleRate) : undefined;
    if (seconds !== undefined && Number.isFinite(seconds)) tags.duration = Math.round(seconds * 1000) / 1000;
  } catch {
    // Unreadable now: no duration, as before.
  }
  return tags;
}

/**
 * Duration from headers (no full-file scan): reading stays cheap. Covers are parsed, since
 * their presence is recorded (music-metadata reports none at all when told to skip them);
 * their bytes are dropped at once by tagsOf.
 */
export const TAG_PARSE_OPTIONS = { skipCovers: false, duration: false, skipPostHeaders: true } as const;

/**
 * The parts of a parse result that the listing record takes: music-metadata's result, or
 * the fast path's, which reproduces just these.
 */
export interface ParsedTags {
  common: {
    title?: string;
    artist?: string;
    album?: string;
    albumartist?: string;
    track?: { no: number | null };
    disk?: { no: number | null };
    year?: number;
    genre?: readonly string[];
    picture?: readonly unknown[];
  };
  format: { duration?: number; codec?: string; sampleRate?: number; bitrate?: number };
}

/** The fields of a listing record that a parse result provides. */
export function tagsOf({ common, format }: ParsedTags): AudioTags {
  const tags: AudioTags = {};
  if (common.title) tags.title = common.title;
  if (common.artist) tags.artist = common.artist;
  if (common.album) tags.album = common.album;
  if (common.track?.no) tags.track = common.track.no;
  if (common.albumartist) tags.albumArtist = common.albumartist;
  if (common.disk?.no) tags.disc = common.disk.no;
  if (common.year && Number.isSafeInteger(common.year)) tags.year = common.year;
  if (common.genre?.[0]) tags.genre = common.genre[0];
  if (common.picture && common.picture.length > 0) tags.picture = true;
  if (format.duration !== undefined && Number.isFinite(format.duration)) tags.duration = Math.round(format.duration * 1000) / 1000;
  if (format.codec) tags.codec = format.codec;
  if (format.sampleRate) tags.sampleRate = format.sampleRate;
  if (format.bitrate && Number.isFinite(format.bitrate)) tags.bitrate = Math.round(format.bitrate);
  return tags;
}
