/**
 * A test-only encoder and decoder for protocol v1, written by hand from the wire
 * description and deliberately sharing no code with src/protocol: a bug in the real
 * encoder then cannot hide a bug in a parser (the fixtures would be wrong the same way).
 *
 * Wire facts used here:
 * - requests are ASCII lines ending CR LF (0x0d 0x0a) (the server reads lines as UTF-8);
 * - `STREAM\r\n` is followed by the index as 4 bytes, unsigned, most significant first;
 * - a LIST reply is `<decimal index>:<UTF-8 path>\r\n` per file, highest index first,
 *   ending with index 0;
 * - a STREAM reply is the size as 4 bytes, most significant first, then the body.
 */

/** CR LF as raw bytes. */
export const CRLF_BYTES: Buffer = Buffer.from([0x0d, 0x0a]);

/** `LIST\r\n`: L I S T CR LF. */
export const LIST_REQUEST: Buffer = Buffer.from([0x4c, 0x49, 0x53, 0x54, 0x0d, 0x0a]);

/** `STREAM\r\n`: S T R E A M CR LF, without the index. */
export const STREAM_LINE: Buffer = Buffer.from([0x53, 0x54, 0x52, 0x45, 0x41, 0x4d, 0x0d, 0x0a]);

/** 0 to 2^32-1 as 4 bytes, most significant first, computed with shifts (not writeUInt32BE). */
export function u32be(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`u32be: ${n} is not a 32-bit unsigned integer`);
  return Buffer.from([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** Reads 4 bytes, most significant first, by hand (not readUInt32BE). */
export function readU32be(buf: Buffer, offset: number): number {
  if (offset + 4 > buf.length) throw new RangeError(`readU32be: need 4 bytes at ${offset}, have ${buf.length - offset}`);
  return ((buf[offset]! << 24) >>> 0) + (buf[offset + 1]! << 16) + (buf[offset + 2]! << 8) + buf[offset + 3]!;
}

/** `STREAM\r\n` and the index. */
export function streamRequest(index: number): Buffer {
  return Buffer.concat([STREAM_LINE, u32be(index)]);
}

/** Any request line with its CR LF; the text is encoded as UTF-8 (ASCII stays one byte per char). */
export function requestLine(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), CRLF_BYTES]);
}

/** One LIST reply line: decimal index, `:`, the path in UTF-8, CR LF. */
export function listLine(index: number, path: string): Buffer {
  return Buffer.concat([Buffer.from(String(index), 'latin1'), Buffer.from([0x3a]), Buffer.from(path, 'utf8'), CRLF_BYTES]);
}

/** A whole LIST reply for paths given in index order (paths[0] has index 0). */
export function listReply(paths: readonly string[]): Buffer {
  const lines: Buffer[] = [];
  for (let i = paths.length - 1; i >= 0; i--) lines.push(listLine(i, paths[i]!));
  return Buffer.concat(lines);
}

/** The 4-byte size header of a STREAM reply. */
export function streamHeader(size: number): Buffer {
  return u32be(size);
}

/** A whole STREAM reply: size header and body. */
export function streamReply(body: Buffer): Buffer {
  return Buffer.concat([u32be(body.length), body]);
}

/** A STREAM reply cut out of received bytes by the test-side decoder. */
export interface DecodedStreamReply {
  size: number;
  body: Buffer;
  /** Offset just after this reply in the buffer it was cut from. */
  end: number;
}

/**
 * Cuts one STREAM reply starting at `offset`. Throws if the bytes are not all there, so a
 * short transfer fails the test with a clear message instead of comparing garbage.
 */
export function decodeStreamReply(buf: Buffer, offset = 0): DecodedStreamReply {
  const size = readU32be(buf, offset);
  const start = offset + 4;
  if (start + size > buf.length) {
    throw new RangeError(`decodeStreamReply: announced ${size} body bytes at ${offset}, only ${buf.length - start} present`);
  }
  return { size, body: buf.subarray(start, start + size), end: start + size };
}

/** Splits a buffer into pieces of one byte each. */
export function bytewise(buf: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) pieces.push(buf.subarray(i, i + 1));
  return pieces;
}

/** Splits a buffer at the given offsets (sorted, duplicates allowed: they make empty pieces). */
export function splitAt(buf: Buffer, offsets: readonly number[]): Buffer[] {
  const sorted = [...offsets].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const at of sorted) {
    pieces.push(buf.subarray(from, at));
    from = at;
  }
  pieces.push(buf.subarray(from));
  return pieces;
}

/** One way of cutting a byte stream into chunks, with a name for assertion messages. */
export interface Chunking {
  name: string;
  chunks: Buffer[];
}

/**
 * The chunkings every parser fixture goes through: whole, byte by byte, and in two pieces
 * split at every position (1 … length-1), which covers front, middle and end.
 * With `threePieces`, also every pair of split positions (quadratic: keep fixtures short).
 */
export function* chunkings(buf: Buffer, options: { threePieces?: boolean } = {}): Generator<Chunking> {
  yield { name: 'whole', chunks: [buf] };
  yield { name: 'byte by byte', chunks: bytewise(buf) };
  for (let i = 1; i < buf.length; i++) yield { name: `split at ${i}`, chunks: splitAt(buf, [i]) };
  if (options.threePieces) {
    for (let i = 1; i < buf.length; i++) {
      for (let j = i + 1; j < buf.length; j++) yield { name: `split at ${i} and ${j}`, chunks: splitAt(buf, [i, j]) };
    }
  }
}

/** Copies each chunk into its own fresh buffer, so a parser cannot rely on chunks sharing memory. */
export function detached(chunks: readonly Buffer[]): Buffer[] {
  return chunks.map((c) => Buffer.from(c));
}
