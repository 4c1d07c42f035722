/**
 * Vorbis comments (FLAC's VORBIS_COMMENT block, the Ogg Vorbis comment header): a vendor
 * string and a list of "KEY=value" UTF-8 strings, every length 32-bit little-endian. Keys
 * are upper-cased and mapped as music-metadata's VorbisTagMapper maps them.
 */
import { u32le } from './byte-source.js';
import type { CommonId, CommonTagCollector } from './common-tags.js';

const VORBIS_KEYS: Record<string, CommonId> = {
  TITLE: 'title',
  ARTIST: 'artist',
  ALBUMARTIST: 'albumartist',
  'ALBUM ARTIST': 'albumartist',
  ALBUM: 'album',
  DATE: 'date',
  TRACKNUMBER: 'track',
  DISCNUMBER: 'disk',
  GENRE: 'genre',
};

/**
 * Keys that reach our fields through rules not reproduced here (plural artists, Discogs
 * aliases, embedded pictures in base64, lyrics parsing): a file with one goes to
 * music-metadata. Every other key maps to nothing we keep.
 */
const UNREPRODUCED_KEYS = new Set([
  'ARTISTS',
  'DISCOGS_ARTISTS',
  'DISCOGS_ARTIST_NAME',
  'DISCOGS_ALBUM_ARTISTS',
  'DISCOGS_RELEASED',
  'STYLE',
  'METADATA_BLOCK_PICTURE',
  'LYRICS',
  'UNSYNCEDLYRICS',
]);

const utf8 = new TextDecoder('utf-8');

/**
 * Reads a comment list from `data` (starting with the vendor string's length) into
 * `collector`; false when a length runs past the data (music-metadata would then read
 * garbage or fail: not reproduced).
 */
export function readVorbisComments(data: Uint8Array, collector: CommonTagCollector): boolean {
  let offset = 0;
  const text = (): string | undefined => {
    if (offset + 4 > data.length) return undefined;
    const length = u32le(data, offset);
    offset += 4;
    if (length > data.length - offset) return undefined;
    const value = utf8.decode(data.subarray(offset, offset + length));
    offset += length;
    return value;
  };
  if (text() === undefined || offset + 4 > data.length) return false;
  let count = u32le(data, offset);
  offset += 4;
  // Each comment takes at least its 4-byte length.
  if (count > (data.length - offset) / 4) return false;
  while (count-- > 0) {
    const comment = text();
    if (comment === undefined) return false;
    // As music-metadata's VorbisDecoder: no "=" gives the key "" (substring(0, -1)).
    const eq = comment.indexOf('=');
    const key = comment.substring(0, eq).toUpperCase();
    const value = comment.substring(eq + 1);
    const id = VORBIS_KEYS[key];
    if (id) collector.add(id, value);
    else if (UNREPRODUCED_KEYS.has(key)) collector.giveUp();
    else collector.other();
  }
  return true;
}
