/**
 * The duration of an Ogg Vorbis or Opus file from its last page. music-metadata finds it
 * only by reading every page (its `duration` option, which we leave off so that reading
 * stays cheap), so without this any Ogg file longer than its first dozen pages had no
 * duration at all. The last page's granule position counts samples: at the stream's own
 * rate for Vorbis, and at 48 kHz after the header's pre-skip for Opus (RFC 7845 §4), the
 * very formulas music-metadata applies when it does read the whole file.
 *
 * Parsing only: the caller reads the file's first bytes and its last OGG_TAIL_BYTES.
 */
import { fourCC, u16le, u32le } from './byte-source.js';

/**
 * An Ogg page is at most 27 + 255 + 255 × 255 = 65,307 bytes, so the last one fits whole in
 * the file's last 64 KiB: one window of the fast path's reads (file-window-source.ts).
 */
export const OGG_TAIL_BYTES = 64 * 1024;
/** The first page (with OpusHead or the Vorbis identification header) fits in this much. */
export const OGG_HEAD_BYTES = 4096;

const PAGE_HEADER = 27;

/**
 * Seconds, or undefined when the bytes do not show it (not Ogg, no complete page with a
 * valid checksum in the tail, or a codec other than Vorbis and Opus).
 */
export function oggDuration(head: Uint8Array, tail: Uint8Array, codec: string | undefined, sampleRate: number | undefined): number | undefined {
  const first = pageAt(head, 0, false);
  if (!first) return undefined;
  const serial = u32le(head, 14);
  const granule = lastGranule(tail, serial);
  if (granule === undefined) return undefined;
  if (codec === 'Opus') {
    const body = first.bodyStart;
    if (body + 12 > head.length || String.fromCharCode(...head.subarray(body, body + 8)) !== 'OpusHead') return undefined;
    const preSkip = u16le(head, body + 10);
    return granule >= preSkip ? (granule - preSkip) / 48_000 : undefined;
  }
  if (codec === 'Vorbis I' && sampleRate && sampleRate > 0) return granule / sampleRate;
  return undefined;
}

/** The granule position of the last complete page of stream `serial` in `tail` that has one. */
function lastGranule(tail: Uint8Array, serial: number): number | undefined {
  for (let i = tail.length - PAGE_HEADER; i >= 0; i--) {
    if (tail[i] !== 0x4f || fourCC(tail, i) !== 'OggS') continue;
    const page = pageAt(tail, i, true);
    if (!page || u32le(tail, i + 14) !== serial) continue;
    const low = u32le(tail, i + 6);
    const high = u32le(tail, i + 10);
    // -1: no packet ends on this page; look further back.
    if (low === 0xffffffff && high === 0xffffffff) continue;
    // Past 2^53 samples (over 5,000 years at 48 kHz) is no real file.
    if (high >= 0x200000) return undefined;
    return high * 0x1_0000_0000 + low;
  }
  return undefined;
}

/**
 * The page that starts at `at` if it is whole within `bytes` (and, with `checkCrc`, its
 * checksum is right: a granule is never taken from audio data that merely contains "OggS").
 */
function pageAt(bytes: Uint8Array, at: number, checkCrc: boolean): { bodyStart: number; end: number } | undefined {
  if (at + PAGE_HEADER > bytes.length || fourCC(bytes, at) !== 'OggS' || bytes[at + 4] !== 0) return undefined;
  const segments = bytes[at + 26]!;
  const bodyStart = at + PAGE_HEADER + segments;
  if (bodyStart > bytes.length) return undefined;
  let end = bodyStart;
  for (let s = 0; s < segments; s++) end += bytes[at + PAGE_HEADER + s]!;
  if (end > bytes.length) return checkCrc ? undefined : { bodyStart, end };
  if (checkCrc && crcOf(bytes, at, end) !== u32le(bytes, at + 22)) return undefined;
  return { bodyStart, end };
}

let crcTable: Uint32Array | undefined;

/** Ogg's CRC-32 (polynomial 0x04c11db7, unreflected, initial 0) of a page with its checksum field as zeros. */
function crcOf(bytes: Uint8Array, start: number, end: number): number {
  crcTable ??= makeCrcTable();
  let crc = 0;
  for (let i = start; i < end; i++) {
    const byte = i >= start + 22 && i < start + 26 ? 0 : bytes[i]!;
    crc = ((crc << 8) ^ crcTable[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc;
}

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
}
