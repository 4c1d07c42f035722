import { UINT32_BYTES } from './constants.js';

export interface StreamReplyChunk {
  /** Bytes of the file body found in this chunk (a view into it, not a copy). */
  body: Buffer | undefined;
  /** Bytes after the end of the body, if the body ended inside this chunk. */
  rest: Buffer | undefined;
}

/**
 * Push parser for a STREAM reply (server → client): a 32-bit unsigned big-endian size,
 * then exactly that many bytes. Body bytes are handed out as views, never copied or
 * gathered, so a file of any size passes through in bounded memory.
 */
export class StreamReplyParser {
  private header: Buffer = Buffer.alloc(0);
  /** The declared size, once its 4 bytes have arrived. */
  size: number | undefined;
  /** Body bytes handed out so far. */
  received = 0;

  get done(): boolean {
    return this.size !== undefined && this.received === this.size;
  }

  feed(chunk: Buffer): StreamReplyChunk {
    let pos = 0;
    if (this.size === undefined) {
      const need = UINT32_BYTES - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(0, need)]);
      pos = Math.min(need, chunk.length);
      if (this.header.length < UINT32_BYTES) return { body: undefined, rest: undefined };
      this.size = this.header.readUInt32BE(0);
    }
    const wanted = this.size - this.received;
    const take = Math.min(wanted, chunk.length - pos);
    const body = take > 0 ? chunk.subarray(pos, pos + take) : undefined;
    this.received += take;
    pos += take;
    const rest = pos < chunk.length ? chunk.subarray(pos) : undefined;
    return { body, rest };
  }
}
