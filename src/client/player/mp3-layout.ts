/**
 * Where a time lies in an MP3 file (MPEG-1/2/2.5 Layer III), and where a stream cut there
 * may start. An MP3 is a row of frames, each with its own 4-byte header, so a stream that
 * starts at a frame boundary decodes by itself; the work is finding the byte of a time:
 *
 * - a Xing/Info header in the first frame (LAME, ffmpeg) has the frame count and a 100-point
 *   table of contents (byte position of each percent of the time, in 256ths of the bytes);
 * - a VBRI header (Fraunhofer) has the frame count and a table of byte sizes per N frames;
 * - otherwise the first frame's bitrate is taken as the file's (constant bitrate).
 *
 * Either way the result is a list of (time, byte) points, interpolated both ways.
 */

const BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const SAMPLE_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };
/** How far past the ID3 tag the first frame may be looked for (some encoders pad). */
const FIRST_FRAME_SEARCH = 4096;

export interface FrameHeader {
  /** 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5 (the header's own bits). */
  version: number;
  sampleRate: number;
  /** kbit/s. */
  bitrate: number;
  samplesPerFrame: number;
  /** The whole frame, header included. */
  length: number;
  mono: boolean;
}

/** The Layer III frame header at `at`, or undefined if there is none. */
export function readFrameHeader(bytes: Buffer, at: number): FrameHeader | undefined {
  if (at + 4 > bytes.length) return undefined;
  const b1 = bytes[at + 1]!;
  const b2 = bytes[at + 2]!;
  if (bytes[at] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const version = (b1 >> 3) & 3;
  if (version === 1 || ((b1 >> 1) & 3) !== 1) return undefined; // reserved version; not Layer III
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined; // free format; bad
  const v1 = version === 3;
  const bitrate = (v1 ? BITRATES_V1 : BITRATES_V2)[bitrateIndex]!;
  const sampleRate = SAMPLE_RATES[version]![rateIndex]!;
  const samplesPerFrame = v1 ? 1152 : 576;
  const padding = (b2 >> 1) & 1;
  const length = Math.floor(((samplesPerFrame / 8) * bitrate * 1000) / sampleRate) + padding;
  return { version, sampleRate, bitrate, samplesPerFrame, length, mono: bytes[at + 3]! >> 6 === 3 };
}

export interface Mp3Layout {
  /** The first frame (after any ID3v2 tag). */
  audioStart: number;
  first: FrameHeader;
  duration: number;
  /** (seconds, byte) points, both increasing, from (0, audioStart) to (duration, end). */
  points: { seconds: number; byte: number }[];
  /** How the points were found, for messages and tests. */
  index: 'xing' | 'vbri' | 'bitrate';
}

/** The size of an ID3v2 tag at the start, footer included; 0 when there is none. */
export function id3v2Size(head: Buffer): number {
  if (head.length < 10 || head.toString('latin1', 0, 3) !== 'ID3') return 0;
  const syncsafe = ((head[6]! & 0x7f) << 21) | ((head[7]! & 0x7f) << 14) | ((head[8]! & 0x7f) << 7) | (head[9]! & 0x7f);
  return 10 + syncsafe + (head[5]! & 0x10 ? 10 : 0);
}

/**
 * The layout from the bytes at the first frame (`frameBytes`, read from `frameBytesAt` in
 * the file, which is the end of any ID3v2 tag), or a reason why it cannot be made.
 */
export function readMp3Layout(frameBytes: Buffer, frameBytesAt: number, size: number): Mp3Layout | string {
  let rel = -1;
  for (let i = 0; i < Math.min(frameBytes.length - 4, FIRST_FRAME_SEARCH); i++) {
    if (readFrameHeader(frameBytes, i)) {
      rel = i;
      break;
    }
  }
  if (rel < 0) return 'no MP3 frame was found at its start';
  const first = readFrameHeader(frameBytes, rel)!;
  const audioStart = frameBytesAt + rel;
  const end = size;
  const sideInfo = first.version === 3 ? (first.mono ? 17 : 32) : first.mono ? 9 : 17;
  const xing = rel + 4 + sideInfo;
  const tag = frameBytes.toString('latin1', xing, xing + 4);
  if ((tag === 'Xing' || tag === 'Info') && xing + 8 <= frameBytes.length) {
    const flags = frameBytes.readUInt32BE(xing + 4);
    let at = xing + 8;
    const frames = flags & 1 && at + 4 <= frameBytes.length ? frameBytes.readUInt32BE(at) : undefined;
    if (flags & 1) at += 4;
    const bytes = flags & 2 && at + 4 <= frameBytes.length ? frameBytes.readUInt32BE(at) : end - audioStart;
    if (flags & 2) at += 4;
    if (frames && flags & 4 && at + 100 <= frameBytes.length) {
      const duration = (frames * first.samplesPerFrame) / first.sampleRate;
      const span = Math.min(bytes, end - audioStart);
      const points = [];
      for (let i = 0; i < 100; i++) points.push({ seconds: (duration * i) / 100, byte: audioStart + Math.floor((frameBytes[at + i]! / 256) * span) });
      points.push({ seconds: duration, byte: audioStart + span });
      return { audioStart, first, duration, points: monotonic(points), index: 'xing' };
    }
  }
  const vbri = rel + 4 + 32;
  if (frameBytes.toString('latin1', vbri, vbri + 4) === 'VBRI' && vbri + 26 <= frameBytes.length) {
    const frames = frameBytes.readUInt32BE(vbri + 14);
    const entries = frameBytes.readUInt16BE(vbri + 18);
    const scale = frameBytes.readUInt16BE(vbri + 20);
    const entrySize = frameBytes.readUInt16BE(vbri + 22);
    const framesPerEntry = frameBytes.readUInt16BE(vbri + 24);
    if (frames > 0 && entrySize >= 1 && entrySize <= 4 && vbri + 26 + entries * entrySize <= frameBytes.length) {
      const secondsPerFrame = first.samplesPerFrame / first.sampleRate;
      const points = [{ seconds: 0, byte: audioStart }];
      let byte = audioStart;
      for (let i = 0; i < entries; i++) {
        byte += frameBytes.readUIntBE(vbri + 26 + i * entrySize, entrySize) * scale;
        points.push({ seconds: Math.min(frames, (i + 1) * framesPerEntry) * secondsPerFrame, byte: Math.min(byte, end) });
      }
      const duration = frames * secondsPerFrame;
      points.push({ seconds: duration, byte: end });
      return { audioStart, first, duration, points: monotonic(points), index: 'vbri' };
    }
  }
  const duration = ((end - audioStart) * 8) / (first.bitrate * 1000);
  return { audioStart, first, duration, points: [{ seconds: 0, byte: audioStart }, { seconds: duration, byte: end }], index: 'bitrate' };
}

/** Drops points that go back (a damaged table), so that both interpolations stay defined. */
function monotonic(points: { seconds: number; byte: number }[]): { seconds: number; byte: number }[] {
  const kept = [points[0]!];
  for (const p of points.slice(1)) {
    const last = kept[kept.length - 1]!;
    if (p.seconds > last.seconds && p.byte > last.byte) kept.push(p);
  }
  return kept;
}

/** The byte where `seconds` lies (not yet on a frame boundary: see Mp3FrameSync). */
export function mp3ByteAt(layout: Mp3Layout, seconds: number): number {
  return Math.floor(interpolate(layout.points, seconds, 'seconds', 'byte'));
}

/** The time at `byte`. */
export function mp3TimeAt(layout: Mp3Layout, byte: number): number {
  return interpolate(layout.points, byte, 'byte', 'seconds');
}

function interpolate(points: { seconds: number; byte: number }[], x: number, from: 'seconds' | 'byte', to: 'seconds' | 'byte'): number {
  const last = points[points.length - 1]!;
  if (x <= points[0]![from]) return points[0]![to];
  if (x >= last[from]) return last[to];
  let i = 1;
  while (points[i]![from] < x) i++;
  const a = points[i - 1]!;
  const b = points[i]!;
  return a[to] + ((b[to] - a[to]) * (x - a[from])) / (b[from] - a[from]);
}

/** The same stream as the first frame: version and sample rate never change within a file. */
function sameStream(h: FrameHeader, first: FrameHeader): boolean {
  return h.version === first.version && h.sampleRate === first.sampleRate;
}

/**
 * Push-based: drops the bytes before the first frame boundary of a stream cut anywhere,
 * then passes everything through. A boundary is a header like the file's first one whose
 * frame is followed by another such header (one alone matches by chance too often).
 * Holds at most `limit` bytes while looking.
 */
export class Mp3FrameSync {
  /** Bytes dropped before the boundary; known once `synced`. */
  skipped = 0;
  synced = false;
  private held = Buffer.alloc(0);

  constructor(
    private readonly first: FrameHeader,
    private readonly limit = 64 * 1024,
  ) {}

  /** Zero or more bytes to pass on; throws once `limit` bytes held no boundary. */
  feed(chunk: Buffer): Buffer[] {
    if (this.synced) return [chunk];
    this.held = Buffer.concat([this.held, chunk]);
    for (let i = 0; i + 4 <= this.held.length; i++) {
      const h = readFrameHeader(this.held, i);
      if (!h || !sameStream(h, this.first)) continue;
      if (i + h.length + 4 > this.held.length) return this.waitOrFail(i); // the next header has not come yet
      const next = readFrameHeader(this.held, i + h.length);
      if (!next || !sameStream(next, this.first)) continue;
      this.synced = true;
      this.skipped += i;
      const rest = this.held.subarray(i);
      this.held = Buffer.alloc(0);
      return [rest];
    }
    return this.waitOrFail(Math.max(0, this.held.length - 3));
  }

  /** Keeps the bytes from `from` (a candidate, or the last 3 that may start one). */
  private waitOrFail(from: number): Buffer[] {
    this.skipped += from;
    this.held = this.held.subarray(from);
    if (this.skipped + this.held.length > this.limit) throw new Error(`no MP3 frame boundary within ${this.limit} bytes`);
    return [];
  }
}
