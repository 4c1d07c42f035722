/**
 * MPEG audio (mp3) after its ID3v2 tag, as music-metadata's MpegParser reads it with
 * `duration: false`: sync on 0xFF 0xE0, parse frame headers until the fourth frame, take the
 * duration from a Xing/Info header (frames × samples per frame ÷ sample rate) or, for CBR,
 * from the file size, and the bitrate from the last header read (or, for a Xing VBR
 * profile, the stream's bytes over the duration). This follows its steps one by one,
 * including where it reads a Xing header and resumes scanning in the middle of that first
 * frame; anything it would treat as an error, a warning, ADTS, a "LAME" tag in place of a
 * Xing header, or the end of the file before the fourth frame, is "not sure".
 */
import { NOT_SURE, u32be, type ByteSource, type NotSure } from './byte-source.js';
import type { FormatFields } from './common-tags.js';

const VERSIONS = [2.5, null, 2, 1] as const;
const LAYERS = [0, 3, 2, 1] as const;
// kbit/s by bitrate index, then 10 × floor(version) + layer (MpegFrameHeader.bitrate_index).
const BITRATES: Record<number, Record<number, number>> = {
  1: { 11: 32, 12: 32, 13: 32, 21: 32, 22: 8, 23: 8 },
  2: { 11: 64, 12: 48, 13: 40, 21: 48, 22: 16, 23: 16 },
  3: { 11: 96, 12: 56, 13: 48, 21: 56, 22: 24, 23: 24 },
  4: { 11: 128, 12: 64, 13: 56, 21: 64, 22: 32, 23: 32 },
  5: { 11: 160, 12: 80, 13: 64, 21: 80, 22: 40, 23: 40 },
  6: { 11: 192, 12: 96, 13: 80, 21: 96, 22: 48, 23: 48 },
  7: { 11: 224, 12: 112, 13: 96, 21: 112, 22: 56, 23: 56 },
  8: { 11: 256, 12: 128, 13: 112, 21: 128, 22: 64, 23: 64 },
  9: { 11: 288, 12: 160, 13: 128, 21: 144, 22: 80, 23: 80 },
  10: { 11: 320, 12: 192, 13: 160, 21: 160, 22: 96, 23: 96 },
  11: { 11: 352, 12: 224, 13: 192, 21: 176, 22: 112, 23: 112 },
  12: { 11: 384, 12: 256, 13: 224, 21: 192, 22: 128, 23: 128 },
  13: { 11: 416, 12: 320, 13: 256, 21: 224, 22: 144, 23: 144 },
  14: { 11: 448, 12: 384, 13: 320, 21: 256, 22: 160, 23: 160 },
};
const SAMPLE_RATES: Record<number, readonly number[]> = { 1: [44100, 48000, 32000], 2: [22050, 24000, 16000], 2.5: [11025, 12000, 8000] };
const SAMPLES_PER_FRAME = [
  [0, 384, 1152, 1152],
  [0, 384, 1152, 576],
] as const;
const SYNC_PEEK = 1024;
/** music-metadata's sync gives up when fewer than this many bytes are left to peek. */
const MIN_SYNC_PEEK = 164;
/** How far the sync may scan for frames before this gives up (music-metadata would go on). */
const MAX_SCAN = 256 * 1024;
const EXTENDED_LAME_HEADER = 27;

interface FrameHeader {
  version: number;
  layer: number;
  bitrate: number;
  sampleRate: number;
  padding: boolean;
  mono: boolean;
  crc: boolean;
  codec: string;
}

function frameHeader(b1: number, b2: number, b3: number): FrameHeader | undefined {
  const versionIndex = (b1 >> 3) & 3;
  const layer = LAYERS[(b1 >> 1) & 3]!;
  if (versionIndex > 1 && layer === 0) return undefined; // ADTS
  const version = VERSIONS[versionIndex]!;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (version === null || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const kbps = BITRATES[bitrateIndex]![10 * Math.floor(version) + layer];
  if (!kbps) return undefined;
  return {
    version,
    layer,
    bitrate: kbps * 1000,
    sampleRate: SAMPLE_RATES[version]![rateIndex]!,
    padding: (b2 & 0x02) !== 0,
    mono: b3 >> 6 === 3,
    crc: (b1 & 0x01) === 0,
    codec: `MPEG ${version} Layer ${layer}`,
  };
}

function sideInfoLength(h: FrameHeader): number {
  if (h.layer !== 3) return 2;
  if (h.mono) return h.version === 1 ? 17 : 9;
  return h.version === 1 ? 32 : 17;
}

class Unsure extends Error {}

/** token-types' 'ascii': each byte's low 7 bits. */
function ascii(b: Uint8Array): string {
  let s = '';
  for (const byte of b) s += String.fromCharCode(byte & 0x7f);
  return s;
}

/** The format fields of the MPEG stream starting at or after `start`, or NOT_SURE. */
export function readMpegAudio(source: ByteSource, start: number): FormatFields | NotSure {
  try {
    return simulate(source, start);
  } catch (err) {
    if (err instanceof Unsure) return NOT_SURE;
    throw err;
  }
}

function simulate(source: ByteSource, start: number): FormatFields {
  const size = source.size;
  let pos = start;
  const bytes = (length: number): Uint8Array => {
    const b = pos + length <= size ? source.read(pos, length) : undefined;
    if (!b) throw new Unsure();
    pos += length;
    return b;
  };
  const ignore = (length: number): void => {
    pos += Math.min(length, Math.max(0, size - pos));
  };
  const format: FormatFields = {};
  let codecProfile: string | undefined;
  let frameCount = 0;
  let frameSize = 0;
  let mpegOffset: number | null = null;
  let samplesPerFrame: number | null = null;
  let current: FrameHeader | undefined;
  const bitrates: number[] = [];
  // Bytes consumed of the current frame since its header (MpegParser.offset).
  let offset = 0;

  const sync = (): void => {
    let gotFirstSync = false;
    for (;;) {
      if (pos - start > MAX_SCAN) throw new Unsure();
      const len = Math.min(SYNC_PEEK, size - pos);
      if (len < MIN_SYNC_PEEK) throw new Unsure(); // end of stream
      const peek = source.read(pos, len);
      if (!peek) throw new Unsure();
      let bo = 0;
      for (;;) {
        if (gotFirstSync) {
          // music-metadata looks at its whole 1,024-byte buffer, stale bytes included.
          if (bo >= len) throw new Unsure();
          if ((peek[bo]! & 0xe0) === 0xe0) {
            pos += bo; // at the header's second byte, which the header read starts with
            return;
          }
        }
        gotFirstSync = false;
        bo = peek.indexOf(0xff, bo);
        if (bo === -1) {
          if (len < SYNC_PEEK) throw new Unsure();
          pos += len;
          break;
        }
        ++bo;
        gotFirstSync = true;
      }
    }
  };

  const readXingInfoHeader = (): { numFrames: number | null; streamSize: number | null; vbrScale: number | null } => {
    const begin = pos;
    const flags = bytes(4)[3]!;
    const tag = { numFrames: null as number | null, streamSize: null as number | null, vbrScale: null as number | null };
    if (flags & 0x01) tag.numFrames = u32be(bytes(4), 0);
    if (flags & 0x02) tag.streamSize = u32be(bytes(4), 0);
    if (flags & 0x04) bytes(100);
    if (flags & 0x08) tag.vbrScale = u32be(bytes(4), 0);
    const lame = pos + 4 <= size ? source.read(pos, 4) : undefined;
    if (!lame) throw new Unsure();
    if (ascii(lame) === 'LAME') {
      pos += 4;
      const version = ascii(bytes(5));
      const match = version.match(/\d+.\d+/g);
      if (match !== null) {
        const [major, minor] = match[0]!.split('.').map((n) => Number.parseInt(n, 10));
        if (major! >= 3 && minor! >= 90) {
          const extended = bytes(EXTENDED_LAME_HEADER);
          format.duration = u32be(extended, 20) / 1000;
        }
      }
    }
    offset += pos - begin;
    if (tag.streamSize && current && tag.numFrames !== null) {
      format.duration = (tag.numFrames * SAMPLES_PER_FRAME[current.version === 1 ? 0 : 1][current.layer]!) / current.sampleRate;
      return tag;
    }
    const left = frameSize - offset;
    if (left < 0) throw new Unsure();
    ignore(left);
    return tag;
  };

  const readXtraInfoHeader = (): void => {
    const tag = ascii(bytes(4));
    offset += 4;
    if (tag === 'Info') {
      codecProfile = 'CBR';
      readXingInfoHeader();
      return;
    }
    if (tag === 'Xing') {
      const info = readXingInfoHeader();
      if (info.vbrScale !== null) codecProfile = `V${Math.floor((100 - info.vbrScale) / 10)}`;
      return;
    }
    if (tag === 'LAME') throw new Unsure();
    const left = frameSize - offset;
    if (left < 0) throw new Unsure(); // a warning in music-metadata
    ignore(left);
  };

  const skipSideInformation = (): void => {
    if (!current) return;
    const length = sideInfoLength(current);
    bytes(length);
    offset += length;
    readXtraInfoHeader();
  };

  for (;;) {
    sync();
    if (frameCount === 0) mpegOffset = pos - 1;
    const rest = bytes(3);
    const header = frameHeader(rest[0]!, rest[1]!, rest[2]!);
    if (!header) throw new Unsure(); // a parse warning (or ADTS): not reproduced
    format.codec = header.codec;
    format.sampleRate = header.sampleRate;
    frameCount++;
    format.bitrate = header.bitrate;
    const slot = [0, 4, 1, 1][header.layer]!;
    if (slot === 0) throw new Unsure();
    const spf = SAMPLES_PER_FRAME[header.version === 1 ? 0 : 1][header.layer]!;
    frameSize = Math.floor(((spf / 8) * header.bitrate) / header.sampleRate + (header.padding ? slot : 0));
    current = header;
    bitrates.push(header.bitrate);
    if (frameCount === 1) {
      offset = 4;
      skipSideInformation();
      continue;
    }
    if (frameCount === 4) {
      if (bitrates.every((b) => b === bitrates[0])) {
        samplesPerFrame = spf;
        codecProfile = 'CBR';
      }
      break; // with `duration: false` the parse always ends at the fourth frame
    }
    offset = 4;
    if (header.crc) {
      bytes(2);
      offset += 2;
    }
    skipSideInformation();
  }

  // MpegParser.finalize (no ID3v1 was read: the ID3v2 tag had tags).
  if (mpegOffset !== null) {
    if (format.duration && size) {
      const mpegSize = size - mpegOffset;
      if (codecProfile && codecProfile[0] === 'V') format.bitrate = (mpegSize * 8) / format.duration;
    }
    if (size && codecProfile === 'CBR') {
      const mpegSize = size - mpegOffset;
      if (frameSize !== null && samplesPerFrame !== null) {
        const numberOfSamples = Math.round(mpegSize / frameSize) * samplesPerFrame;
        if (format.sampleRate && !format.duration) format.duration = numberOfSamples / format.sampleRate;
      }
    }
  }
  return format;
}
