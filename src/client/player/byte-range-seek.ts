/**
 * Seeking a stream beyond what has arrived: which byte of the file a time lies at, and what
 * a new stream from there needs in front, for the formats where that can be done well.
 *
 * - WAV: exact (header + time × byte rate, on a block boundary); the header goes first.
 * - MP3: by the Xing/Info or VBRI table of contents when the file has one, else by its
 *   bitrate; the new stream starts at the next frame boundary and decodes by itself.
 * - FLAC, Ogg, M4A/MP4 and anything else: refused, in one line. FLAC would need its seek
 *   table (optional) or a search for a frame header whose sample number is near; Ogg has no
 *   index, only a bisection over granule positions (several round trips); an M4A cannot be
 *   decoded from a byte range without its `moov` atom (the sample table, often at the end),
 *   and a decoder given a header plus ranged bytes would need a rewritten sample table.
 *
 * Socket-free: it sees the file's first bytes (HeadCapture) and its size.
 */
import { formatDuration } from '../listing-format.js';
import { cutWav, readWavLayout, wavDuration, type WavLayout } from './wav-layout.js';
import { id3v2Size, mp3ByteAt, mp3TimeAt, readMp3Layout, type FrameHeader, type Mp3Layout } from './mp3-layout.js';

/** The formats whose streams can be sought by a byte range, as help and README name them. */
export const RANGE_SEEK_FORMATS = 'mp3 and wav';

/** Bytes kept from the start of a track: enough for any WAV header and the first MP3 frame with its table. */
const HEAD_BYTES = 64 * 1024;
/** Bytes kept after an ID3v2 tag that is longer than HEAD_BYTES (cover art): the first frame. */
const FRAME_BYTES = 16 * 1024;

/**
 * Keeps copies of the few bytes a seek plan needs from a track's transfer: the first 64 KiB
 * and, when an ID3v2 tag (cover art) is longer than that, 16 KiB after it. Bounded whatever
 * the file's size.
 */
export class HeadCapture {
  readonly head = Buffer.alloc(HEAD_BYTES);
  headLength = 0;
  private afterTagAt = -1;
  afterTag: Buffer | undefined;
  private afterTagLength = 0;

  /** `chunk` is the file's bytes from `at`. */
  take(chunk: Buffer, at: number): void {
    if (at < HEAD_BYTES) {
      const n = Math.min(chunk.length, HEAD_BYTES - at);
      chunk.copy(this.head, at, 0, n);
      this.headLength = Math.max(this.headLength, at + n);
      if (this.afterTagAt < 0 && this.headLength >= 10) {
        const tag = id3v2Size(this.head.subarray(0, this.headLength));
        if (tag > HEAD_BYTES - FRAME_BYTES) {
          this.afterTagAt = tag;
          this.afterTag = Buffer.alloc(FRAME_BYTES);
        }
      }
    }
    if (this.afterTag && at + chunk.length > this.afterTagAt && at < this.afterTagAt + FRAME_BYTES) {
      const from = Math.max(at, this.afterTagAt);
      const to = Math.min(at + chunk.length, this.afterTagAt + FRAME_BYTES);
      chunk.copy(this.afterTag, from - this.afterTagAt, from - at, to - at);
      this.afterTagLength = Math.max(this.afterTagLength, to - this.afterTagAt);
    }
  }

  /** The bytes at the first MP3 frame's search start, and where they lie in the file. */
  frameBytes(): { bytes: Buffer; at: number } {
    if (this.afterTag) return { bytes: this.afterTag.subarray(0, this.afterTagLength), at: this.afterTagAt };
    const head = this.head.subarray(0, this.headLength);
    const tag = id3v2Size(head);
    return { bytes: head.subarray(Math.min(tag, head.length)), at: tag };
  }
}

/** Where a new stream for a time starts, and what goes before its bytes. */
export interface RangePlan {
  /** The byte to fetch from. */
  offset: number;
  /** The time at `offset` (WAV: exact); for MP3 corrected by `frameTime` once the boundary is found. */
  seconds: number;
  /** Sent to the player before the fetched bytes (the WAV header), or empty. */
  prefix: Buffer;
  /** MP3: the first frame's header, to find a boundary in the fetched bytes. */
  frame?: FrameHeader;
  /** MP3: the time at a byte (once the boundary's byte is known). */
  frameTime?: (byte: number) => number;
}

/** A track's layout, once worked out from its first bytes. */
export interface RangeSeeker {
  readonly format: 'wav' | 'mp3';
  /** The track's whole length, as the layout gives it. */
  readonly duration: number;
  plan(seconds: number): RangePlan;
}

/** What the first bytes say the format is (by content, not by name). */
export function sniffFormat(head: Buffer): string {
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WAVE') return 'wav';
  if (head.toString('latin1', 0, 4) === 'fLaC') return 'flac';
  if (head.toString('latin1', 0, 4) === 'OggS') return 'ogg';
  if (head.toString('latin1', 4, 8) === 'ftyp') return 'm4a';
  if (head.toString('latin1', 0, 3) === 'ID3' || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0)) return 'mp3';
  return 'unknown';
}

/**
 * The seeker for a track from its captured first bytes, or a reason (one phrase, naming
 * the format) why its streams cannot be sought beyond what has arrived.
 */
export function rangeSeekerFor(capture: HeadCapture, size: number): RangeSeeker | string {
  const head = capture.head.subarray(0, capture.headLength);
  const format = sniffFormat(head);
  if (format === 'wav') {
    const layout = readWavLayout(head, size);
    return typeof layout === 'string' ? `this WAV file cannot be sought beyond what has arrived (${layout})` : wavSeeker(layout);
  }
  if (format === 'mp3') {
    const { bytes, at } = capture.frameBytes();
    const layout = readMp3Layout(bytes, at, size);
    return typeof layout === 'string' ? `this MP3 file cannot be sought beyond what has arrived (${layout})` : mp3Seeker(layout);
  }
  const name = format === 'unknown' ? 'this format' : `a ${format.toUpperCase()} file`;
  return `${name} cannot be sought beyond what has arrived (only ${RANGE_SEEK_FORMATS} can)`;
}

function wavSeeker(layout: WavLayout): RangeSeeker {
  return {
    format: 'wav',
    duration: wavDuration(layout),
    plan(seconds) {
      const cut = cutWav(layout, seconds);
      return { offset: cut.offset, seconds: cut.seconds, prefix: cut.prefix };
    },
  };
}

function mp3Seeker(layout: Mp3Layout): RangeSeeker {
  return {
    format: 'mp3',
    duration: layout.duration,
    plan(seconds) {
      const offset = mp3ByteAt(layout, seconds);
      return { offset, seconds: mp3TimeAt(layout, offset), prefix: Buffer.alloc(0), frame: layout.first, frameTime: (byte) => mp3TimeAt(layout, byte) };
    },
  };
}

/** The one line a refused seek beyond what has arrived gives. */
export function notArrivedLine(seconds: number, why: string): string {
  return `${formatDuration(seconds)} has not arrived yet, and ${why}: wait, or get the file and play the saved copy`;
}
