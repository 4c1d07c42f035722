/**
 * Ogg Vorbis, page by page as music-metadata's OggParser and VorbisStream read it: a 27-byte
 * page header ("OggS", flags, 64-bit granule position, serial, sequence number, segment
 * count), the segment table, the page's data. The first page holds the identification
 * header (sample rate, nominal bitrate), the next packet the comments. Pages are read until
 * the last one (whose granule position over the sample rate is the duration) or, once the
 * comments are read, past sequence number 12 (then there is no duration, as in
 * music-metadata). One Vorbis stream only; Opus, Speex, FLAC-in-Ogg, several streams,
 * truncated or corrupt pages are "not sure".
 */
import { fourCC, NOT_SURE, u32le, type ByteSource, type NotSure } from './byte-source.js';
import { CommonTagCollector, type FastMetadata, type FormatFields } from './common-tags.js';
import { readVorbisComments } from './vorbis-comment.js';

const PAGE_HEADER = 27;
/** music-metadata stops after a page numbered above this once the comments are read. */
const LAST_EARLY_PAGE = 12;
/** Pages this reads before giving up (music-metadata reads on to the end or its read limit). */
const MAX_PAGES = 64;

const CONTINUED = 0x01;
const FIRST_PAGE = 0x02;
const LAST_PAGE = 0x04;

export function readOgg(source: ByteSource): FastMetadata | NotSure {
  const collector = new CommonTagCollector();
  const format: FormatFields = {};
  let position = 0;
  let serial: number | undefined;
  let pending: Uint8Array[] = [];
  let commentsRead = false;
  let granule = 0;
  let lastPage = false;
  for (let pages = 0; ; pages++) {
    if (pages === MAX_PAGES) return NOT_SURE;
    const header = source.read(position, PAGE_HEADER);
    if (!header || fourCC(header, 0) !== 'OggS') return NOT_SURE;
    const flags = header[5]!;
    granule = Number(new DataView(header.buffer, header.byteOffset, header.length).getBigUint64(6, true));
    const pageSerial = u32le(header, 14);
    const sequence = u32le(header, 18);
    const segments = header[26]!;
    if (serial === undefined) serial = pageSerial;
    else if (serial !== pageSerial) return NOT_SURE;
    const table = source.read(position + PAGE_HEADER, segments);
    if (!table) return NOT_SURE;
    let size = 0;
    for (const s of table) size += s;
    const dataAt = position + PAGE_HEADER + segments;
    // Copied: the source's buffer may be reused by the next read.
    const view = source.read(dataAt, size);
    if (!view || size === 0) return NOT_SURE;
    const data = Uint8Array.from(view);
    position = dataAt + size;
    lastPage = (flags & LAST_PAGE) !== 0;
    if (pages === 0) {
      if (!(flags & FIRST_PAGE) || !readIdentification(data, format)) return NOT_SURE;
    } else {
      if (flags & FIRST_PAGE) return NOT_SURE; // a new stream's first page: not here
      if (flags & CONTINUED) {
        if (pending.length === 0) return NOT_SURE;
        pending.push(data);
      }
      if (lastPage || !(flags & CONTINUED)) {
        if (pending.length > 0) {
          const packet = concat(pending);
          if (packet[0] === 3) {
            // A comment header; a second one (or audio starting with 3) is not reproduced.
            if (commentsRead || !readVorbisComments(packet.subarray(7), collector)) return NOT_SURE;
            commentsRead = true;
          }
        }
        pending = lastPage ? [] : [data];
      }
    }
    if (lastPage) break;
    if (sequence > LAST_EARLY_PAGE && commentsRead) {
      // Stopped early: music-metadata flushes what is pending, which must not look like a
      // comment header, and has no duration.
      if (pending.length === 0 || concat(pending)[0] === 3) return NOT_SURE;
      break;
    }
  }
  if (!commentsRead) return NOT_SURE;
  if (lastPage && format.sampleRate) format.duration = granule / format.sampleRate;
  const common = collector.result();
  return common === NOT_SURE ? NOT_SURE : { common, format };
}

/** The identification header: packet type 1, "vorbis", version, channels, rate, bitrates. */
function readIdentification(data: Uint8Array, format: FormatFields): boolean {
  if (data.length < 7 + 23 || data[0] !== 1 || String.fromCharCode(...data.subarray(1, 7)) !== 'vorbis') return false;
  format.codec = 'Vorbis I';
  format.sampleRate = u32le(data, 12);
  format.bitrate = u32le(data, 20);
  return true;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
