import { CRLF, LIST_COMMAND, MAX_V1_INDEX, MAX_V1_SIZE, STREAM_COMMAND, UINT32_BYTES } from './constants.js';
import { AudioStreamError } from './errors.js';

/** `LIST\r\n` */
export function encodeListRequest(): Buffer {
  return Buffer.from(`${LIST_COMMAND}\r\n`, 'latin1');
}

/** `STREAM\r\n` then the index, 32-bit unsigned big-endian. */
export function encodeStreamRequest(index: number): Buffer {
  if (!Number.isInteger(index) || index < 0 || index > MAX_V1_INDEX) {
    throw new AudioStreamError('BAD_INDEX', `index ${index} cannot be sent: v1 indexes are 0 to ${MAX_V1_INDEX}`);
  }
  const line = `${STREAM_COMMAND}\r\n`;
  const buf = Buffer.allocUnsafe(line.length + UINT32_BYTES);
  buf.write(line, 0, 'latin1');
  buf.writeUInt32BE(index, line.length);
  return buf;
}

/** One line of a LIST reply: `<index>:<path>\r\n`, no padding, no space after the colon. */
export function encodeListLine(index: number, path: string): Buffer {
  const head = `${index}:`;
  const pathBytes = Buffer.byteLength(path, 'utf8');
  const buf = Buffer.allocUnsafe(head.length + pathBytes + CRLF.length);
  buf.write(head, 0, 'latin1');
  buf.write(path, head.length, 'utf8');
  CRLF.copy(buf, head.length + pathBytes);
  return buf;
}

/**
 * A whole LIST reply for paths in index order: highest index first, ending with 0. With
 * `firstIndex`, the part of a reply for the paths at indexes `firstIndex` and up (a large
 * reply is encoded a batch at a time, from its highest indexes down).
 */
export function encodeListResponse(paths: readonly string[], firstIndex = 0): Buffer {
  // Measured first and written into one buffer: a buffer per line and then their
  // concatenation held the reply about three times over (100,000 paths: some 9 MB once).
  let total = 0;
  for (let i = 0; i < paths.length; i++) total += String(firstIndex + i).length + 1 + Buffer.byteLength(paths[i]!, 'utf8') + CRLF.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = paths.length - 1; i >= 0; i--) {
    at += out.write(`${firstIndex + i}:`, at, 'latin1');
    at += out.write(paths[i]!, at, 'utf8');
    at += CRLF.copy(out, at);
  }
  return out;
}

/** The lines of a LIST reply, highest index first, ending with index 0. */
export function* encodeListLines(paths: readonly string[]): Generator<Buffer> {
  for (let i = paths.length - 1; i >= 0; i--) yield encodeListLine(i, paths[i]!);
}

/** The size that precedes a STREAM body: 32-bit unsigned big-endian. */
export function encodeStreamHeader(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0 || size > MAX_V1_SIZE) {
    throw new AudioStreamError('FILE_TOO_LARGE', `a size of ${size} bytes cannot be described in protocol v1 (at most ${MAX_V1_SIZE})`);
  }
  const buf = Buffer.allocUnsafe(UINT32_BYTES);
  buf.writeUInt32BE(size, 0);
  return buf;
}
