/**
 * Where a time lies in a WAV file: its header read (RIFF chunks, little-endian), then the
 * exact byte of a time: data start + time × byte rate, rounded down to a whole block (one
 * sample for every channel). A stream that starts there needs the header in front: the
 * header is copied with its two sizes set to what is left, so the decoder knows the format
 * and does not expect bytes that will never come.
 */

/** PCM, IEEE float, A-law, µ-law, and WAVE_FORMAT_EXTENSIBLE: every block is the same size. */
const BLOCK_FORMATS = new Set([0x0001, 0x0003, 0x0006, 0x0007, 0xfffe]);

export interface WavLayout {
  /** Where the `data` chunk's bytes begin. */
  dataStart: number;
  /** Bytes of audio (cut to the file's size: a streamed WAV may claim 0xFFFFFFFF). */
  dataBytes: number;
  byteRate: number;
  blockAlign: number;
  /** The header bytes, 0 to dataStart. */
  header: Buffer;
}

/** The layout, or a reason (one phrase) why this WAV cannot be cut by bytes. */
export function readWavLayout(head: Buffer, size: number): WavLayout | string {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return 'not a RIFF WAVE file';
  let at = 12;
  let fmt: { format: number; byteRate: number; blockAlign: number } | undefined;
  while (at + 8 <= head.length) {
    const id = head.toString('latin1', at, at + 4);
    const chunkSize = head.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      if (at + 8 + 16 > head.length) break;
      fmt = { format: head.readUInt16LE(at + 8), byteRate: head.readUInt32LE(at + 16), blockAlign: head.readUInt16LE(at + 20) };
    } else if (id === 'data') {
      if (!fmt) return 'its data comes before its format';
      if (!BLOCK_FORMATS.has(fmt.format)) return `it is compressed (format 0x${fmt.format.toString(16).padStart(4, '0')})`;
      if (fmt.byteRate === 0 || fmt.blockAlign === 0) return 'its header gives no byte rate';
      const dataStart = at + 8;
      return {
        dataStart,
        dataBytes: Math.max(0, Math.min(chunkSize, size - dataStart)),
        byteRate: fmt.byteRate,
        blockAlign: fmt.blockAlign,
        header: Buffer.from(head.subarray(0, dataStart)),
      };
    }
    at += 8 + chunkSize + (chunkSize % 2); // chunks are padded to an even length
  }
  return 'its header is longer than the part read';
}

export interface WavCut {
  /** The first byte to fetch: the start of a block. */
  offset: number;
  /** The exact time of that byte. */
  seconds: number;
  /** The header to send before the fetched bytes, its sizes set to what is left. */
  prefix: Buffer;
}

export function wavDuration(layout: WavLayout): number {
  return layout.dataBytes / layout.byteRate;
}

/** Where `seconds` begins, on a block boundary (clamped to the last block). */
export function cutWav(layout: WavLayout, seconds: number): WavCut {
  const blocks = Math.floor(layout.dataBytes / layout.blockAlign);
  const block = Math.max(0, Math.min(blocks - 1, Math.floor((seconds * layout.byteRate) / layout.blockAlign)));
  const skipped = block * layout.blockAlign;
  const left = layout.dataBytes - skipped;
  const prefix = Buffer.from(layout.header);
  prefix.writeUInt32LE(Math.min(0xffffffff, prefix.length - 8 + left), 4);
  prefix.writeUInt32LE(left, layout.dataStart - 4);
  return { offset: layout.dataStart + skipped, seconds: skipped / layout.byteRate, prefix };
}
