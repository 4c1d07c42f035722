import { DEFAULT_MAX_REQUEST_LINE, LIST_COMMAND, STREAM_COMMAND, UINT32_BYTES } from './constants.js';
import { AudioStreamError } from './errors.js';

/** A request as the server sees it. */
export type Request =
  | { kind: 'list' }
  | { kind: 'stream'; index: number }
  /** A line the server does not know. v1 ignores it, as the original server does. */
  | { kind: 'unknown'; line: string };

export interface RequestParserOptions {
  /** Longest request line accepted, without its line ending. */
  maxLineLength?: number;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Push parser for client → server bytes. `feed()` takes any slice of the stream
 * (one byte, half a request, several requests) and returns the requests it completed;
 * the rest is kept for the next call.
 *
 * States: reading a line, then, after `STREAM`, reading its 4-byte index. The index is
 * binary and may contain CR or LF, which is why it has a state of its own.
 */
export class RequestParser {
  private readonly maxLineLength: number;
  private pending: Buffer = Buffer.alloc(0);
  private awaitingIndex = false;

  constructor(options: RequestParserOptions = {}) {
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_REQUEST_LINE;
  }

  /** Bytes received but not yet part of a complete request. */
  get bufferedBytes(): number {
    return this.pending.length;
  }

  /**
   * True while a request has begun but is not complete: bytes of a line are buffered, or a
   * `STREAM` line has come without its index yet (no bytes buffered, still half a request).
   */
  get inRequest(): boolean {
    return this.awaitingIndex || this.pending.length > 0;
  }

  /**
   * @throws AudioStreamError REQUEST_TOO_LONG when a line exceeds the limit; the parser
   * is then unusable and the connection should close.
   */
  feed(chunk: Buffer): Request[] {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const requests: Request[] = [];
    let pos = 0;

    for (;;) {
      if (this.awaitingIndex) {
        if (buf.length - pos < UINT32_BYTES) break;
        requests.push({ kind: 'stream', index: buf.readUInt32BE(pos) });
        pos += UINT32_BYTES;
        this.awaitingIndex = false;
        continue;
      }

      // Only search as far as a legal line can reach (+2 for CR LF), so a flood
      // without line endings is refused without scanning it all.
      const searchEnd = Math.min(buf.length, pos + this.maxLineLength + 2);
      const lf = buf.subarray(pos, searchEnd).indexOf(LF);
      if (lf === -1) {
        if (searchEnd - pos > this.maxLineLength + 1) throw tooLong(this.maxLineLength);
        break;
      }
      let lineEnd = pos + lf;
      if (lineEnd > pos && buf[lineEnd - 1] === CR) lineEnd--;
      if (lineEnd - pos > this.maxLineLength) throw tooLong(this.maxLineLength);
      // UTF-8: v1 lines are ASCII, and a v2 request carries paths in any script.
      const line = buf.toString('utf8', pos, lineEnd);
      pos += lf + 1;

      if (line === LIST_COMMAND) {
        requests.push({ kind: 'list' });
      } else if (line === STREAM_COMMAND) {
        this.awaitingIndex = true;
      } else {
        requests.push({ kind: 'unknown', line });
      }
    }

    // Copy the remainder: it is small (bounded by the line limit) and must not pin `chunk`.
    this.pending = pos >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    return requests;
  }
}

function tooLong(limit: number): AudioStreamError {
  return new AudioStreamError('REQUEST_TOO_LONG', `request line longer than ${limit} bytes`);
}
