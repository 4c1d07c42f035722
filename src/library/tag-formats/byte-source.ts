/**
 * What a fast-path parser reads its file through: the file's size and bounded reads at an
 * offset. The parsers never see a descriptor (the reading lives in fast-tag-reader.ts), so
 * they can be fed a buffer in a test just as well.
 */
export interface ByteSource {
  /** The file's size in bytes. */
  readonly size: number;
  /**
   * `length` bytes from `offset`, or undefined when they are not all in the file or would
   * go past the per-file read limit. The result may be a view of a shared buffer: valid
   * until the next call only.
   */
  read(offset: number, length: number): Uint8Array | undefined;
}

/** A parser's answer when the file is anything but the plain case it reproduces exactly. */
export const NOT_SURE = Symbol('not sure');
export type NotSure = typeof NOT_SURE;

/** A ByteSource over bytes already in memory (a whole file). */
export function bytesSource(data: Uint8Array): ByteSource {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return {
    size: bytes.length,
    read: (offset, length) => (offset >= 0 && length >= 0 && offset + length <= bytes.length ? bytes.subarray(offset, offset + length) : undefined),
  };
}

// Little- and big-endian integers in one place. Callers check bounds first.
export const u16be = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
export const u24be = (b: Uint8Array, o: number): number => (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
export const u32be = (b: Uint8Array, o: number): number => b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
export const u16le = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
export const u32le = (b: Uint8Array, o: number): number => b[o + 3]! * 0x1000000 + ((b[o + 2]! << 16) | (b[o + 1]! << 8) | b[o]!);
/**
 * ID3v2's 28-bit "syncsafe" integer (7 bits per byte), or -1 when a byte has its high bit
 * set: invalid, and music-metadata reads such bytes its own way (only the last one masked).
 */
export const syncsafe32 = (b: Uint8Array, o: number): number =>
  (b[o]! | b[o + 1]! | b[o + 2]! | b[o + 3]!) & 0x80 ? -1 : (b[o]! << 21) | (b[o + 1]! << 14) | (b[o + 2]! << 7) | b[o + 3]!;

/** Four bytes as a code such as "RIFF" or "moov" (latin1, as music-metadata reads them). */
export function fourCC(b: Uint8Array, o: number): string {
  return String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!);
}
