/**
 * ID3v2.3 and ID3v2.4 tags at the start of a file: a 10-byte header ("ID3", version, flags,
 * 28-bit syncsafe size) and frames (4-character id, size, two flag bytes). Text frames are
 * decoded, split and trimmed as music-metadata's FrameParser does, and mapped as its
 * ID3v24TagMapper maps them (it serves v2.3 too). Unsynchronisation, compression,
 * encryption, extended headers, v2.2 and frames not listed here are "not sure".
 */
import { MAX_TAG_READ_BYTES } from '../tag-read-limit.js';
import { NOT_SURE, syncsafe32, u32be, type ByteSource, type NotSure } from './byte-source.js';
import type { CommonId, CommonTagCollector } from './common-tags.js';
import { decodeText, type TextEncoding } from './text-decoding.js';

export const ID3V2_HEADER_LENGTH = 10;

/** True when the bytes start an ID3v2 tag ("ID3"). */
export function startsWithId3v2(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33;
}

const FRAME_KEYS: Record<string, CommonId> = {
  TIT2: 'title',
  TPE1: 'artist',
  TPE2: 'albumartist',
  TALB: 'album',
  TDRV: 'date',
  TDRC: 'date',
  TYER: 'year',
  TPOS: 'disk',
  TRCK: 'track',
  TCON: 'genre',
};

/** TXXX descriptions (upper-cased) that reach our fields through rules not reproduced here. */
const UNREPRODUCED_TXXX = new Set(['ARTISTS', 'DISCOGS_ARTISTS', 'DISCOGS_ARTIST_NAME', 'DISCOGS_ALBUM_ARTISTS', 'DISCOGS_RELEASED', 'STYLE']);

/** v2.3 frames whose single value is further split at "/" (FrameParser.splitValue). */
const SLASH_SPLIT_V23 = new Set(['TPE1', 'TPE2', 'TPE3', 'TPE4', 'TCOM', 'TEXT', 'TOLY', 'TOPE', 'TXXX', 'TSRC', 'IPLS']);
/** Text frames whose value is kept whole (FrameParser.readData). */
const WHOLE_TEXT = new Set(['TRCK', 'TPOS', 'TIT1', 'TIT2', 'TIT3']);
/** Text frames split even in v2.3. */
const ALWAYS_SPLIT = new Set(['TCOM', 'TEXT', 'TOLY', 'TOPE', 'TPE1', 'TSRC', 'TCON']);

const ENCODINGS: TextEncoding[] = ['latin1', 'utf-16le', 'utf-16be', 'utf8'];
const FRAME_ID = /^[A-Z0-9]{4}$/;

/**
 * Reads the ID3v2 tag at offset 0 into `collector`; returns the offset just past it, or
 * NOT_SURE.
 */
export function readId3v2(source: ByteSource, collector: CommonTagCollector): number | NotSure {
  const header = source.read(0, ID3V2_HEADER_LENGTH);
  if (!header || !startsWithId3v2(header)) return NOT_SURE;
  const major = header[3]!;
  const flags = header[5]!;
  // Whole-tag unsynchronisation (0x80), an extended header (0x40), a footer (0x10): not here.
  if ((major !== 3 && major !== 4) || (flags & 0xd0) !== 0) return NOT_SURE;
  const size = syncsafe32(header, 6);
  if (size < 0 || size > source.size - ID3V2_HEADER_LENGTH || size > MAX_TAG_READ_BYTES / 2) return NOT_SURE;
  const data = source.read(ID3V2_HEADER_LENGTH, size);
  if (!data || !readFrames(data, major, collector)) return NOT_SURE;
  return ID3V2_HEADER_LENGTH + size;
}

function readFrames(data: Uint8Array, major: number, collector: CommonTagCollector): boolean {
  let offset = 0;
  while (offset !== data.length) {
    // "Illegal ID3v2 tag length": music-metadata stops there, as here.
    if (offset + 10 > data.length) return true;
    const id = String.fromCharCode(data[offset]!, data[offset + 1]!, data[offset + 2]!, data[offset + 3]!);
    const length = major === 4 ? syncsafe32(data, offset + 4) : u32be(data, offset + 4);
    const formatFlags = data[offset + 9]!;
    offset += 10;
    if (length < 0) return false;
    if (length === 0) continue; // padding, or an empty frame: no value either way
    if (!FRAME_ID.test(id) || offset + length > data.length) return false;
    // v2.3: compression 0x80, encryption 0x40, grouping 0x20; v2.4: grouping 0x40,
    // compression 0x08, encryption 0x04, unsynchronisation 0x02, data length 0x01.
    if (formatFlags !== 0) return false;
    if (!readFrame(id, data.subarray(offset, offset + length), major, collector)) return false;
    offset += length;
  }
  return true;
}

function readFrame(id: string, frame: Uint8Array, major: number, collector: CommonTagCollector): boolean {
  const encoding = ENCODINGS[frame[0]!] ?? 'utf8';
  if (id === 'TXXX') {
    const split = nullTerminated(frame.subarray(1), encoding);
    if (!split) return false;
    const description = decodeText(split.text, encoding);
    const text = decodeText(split.rest, encoding);
    if (description === NOT_SURE || text === NOT_SURE) return false;
    if (UNREPRODUCED_TXXX.has(description.toUpperCase())) collector.giveUp();
    else collector.other();
    return true;
  }
  if (id[0] === 'T') {
    const decoded = decodeText(frame.subarray(1), encoding);
    if (decoded === NOT_SURE) return false;
    const text = trimNullPadding(decoded);
    const key = FRAME_KEYS[id];
    if (!key) {
      collector.other();
      return true;
    }
    let values: string[];
    if (WHOLE_TEXT.has(id)) values = [text];
    else if (ALWAYS_SPLIT.has(id) || major >= 4) values = splitValue(id, text, major);
    else values = [text];
    if (key === 'genre') {
      for (const value of values) {
        if (value === '') continue; // parseGenre('') is no genre
        // Numeric genres and "(n)" references map through ID3v1's table: not reproduced.
        if (value.includes('(') || /^\d*$/.test(value)) {
          collector.giveUp();
          return true;
        }
        collector.add('genre', value);
      }
      if (values.length === 0) collector.other();
      return true;
    }
    for (const value of values) collector.add(key, value);
    if (values.length === 0) collector.other();
    return true;
  }
  switch (id) {
    case 'APIC': {
      // MIME type (latin1, NUL-terminated), picture type, description (in the frame's
      // encoding, terminated by one or two NULs), then the picture data.
      let rest = frame.subarray(1);
      const mimeEnd = rest.indexOf(0);
      const mime = decodeText(rest.subarray(0, mimeEnd === -1 ? rest.length : mimeEnd), 'latin1');
      if (mime === NOT_SURE) return false;
      rest = rest.subarray((mimeEnd === -1 ? rest.length : mimeEnd) + 1);
      rest = rest.subarray(1);
      const zero = findZero(rest, encoding);
      if (decodeText(rest.subarray(0, zero), encoding) === NOT_SURE) return false;
      const data = rest.subarray(zero + (encoding.startsWith('utf-16') ? 2 : 1));
      collector.addPicture({ format: fixPictureMimeType(mime), dataLength: data.length });
      return true;
    }
    case 'COMM': {
      // Encoding, language (3 bytes), descriptor and text: decoded only to be sure neither
      // makes music-metadata throw.
      if (frame.length < 4) return false;
      const split = nullTerminated(frame.subarray(4), encoding);
      if (!split || decodeText(split.text, encoding) === NOT_SURE) return false;
      const textEnd = findZero(split.rest, encoding);
      if (decodeText(split.rest.subarray(0, textEnd), encoding) === NOT_SURE) return false;
      collector.other();
      return true;
    }
    case 'PRIV':
      collector.other();
      return true;
    default:
      return false;
  }
}

/** FrameParser.splitValue: NUL-separated values (v2.3 also "/" for some frames), trimmed. */
function splitValue(id: string, text: string, major: number): string[] {
  let values = text.split('\0');
  if (major < 4 && values.length === 1 && SLASH_SPLIT_V23.has(id)) values = text.split('/');
  return values.map((v) => trimNullPadding(v).trim());
}

function trimNullPadding(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 0) end--;
  return end === value.length ? value : value.slice(0, end);
}

/** music-metadata's findZero: a NUL, or two on a 2-byte boundary for UTF-16; the length if none. */
function findZero(b: Uint8Array, encoding: TextEncoding): number {
  if (encoding === 'utf-16le' || encoding === 'utf-16be') {
    for (let i = 0; i + 1 < b.length; i += 2) if (b[i] === 0 && b[i + 1] === 0) return i;
    return b.length;
  }
  const i = b.indexOf(0);
  return i === -1 ? b.length : i;
}

/** A NUL-terminated string and what follows it (readNullTerminatedString). */
function nullTerminated(b: Uint8Array, encoding: TextEncoding): { text: Uint8Array; rest: Uint8Array } | undefined {
  const zero = findZero(b, encoding);
  if (zero >= b.length) return { text: b, rest: b.subarray(b.length) };
  return { text: b.subarray(0, zero), rest: b.subarray(zero + (encoding.startsWith('utf-16') ? 2 : 1)) };
}

function fixPictureMimeType(mime: string): string {
  const lower = mime.toLocaleLowerCase();
  return lower === 'jpg' ? 'image/jpeg' : lower === 'png' ? 'image/png' : lower;
}
