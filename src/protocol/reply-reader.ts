import { AudioStreamError } from './errors.js';

export interface ReplyReaderHandler {
  /**
   * A complete line arrived (without its line ending). Return how many bytes of body
   * follow it (0 for none): the reader then hands those bytes to `body` before it reads
   * lines again.
   */
  line(text: string): number;
  /** Body bytes, as views into the received chunk (never copied or gathered). */
  body(bytes: Buffer): void;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Push reader for v2 replies (server → client): lines, each of which may announce a
 * body of a known length. Two states, line and body; survives any split of the stream.
 * Lines are limited in length, bodies are streamed through.
 */
export class ReplyReader {
  private readonly handler: ReplyReaderHandler;
  private readonly maxLineLength: number;
  private pending: Buffer = Buffer.alloc(0);
  private bodyLeft = 0;

  constructor(handler: ReplyReaderHandler, maxLineLength: number) {
    this.handler = handler;
    this.maxLineLength = maxLineLength;
  }

  /** True while a body is being read. */
  get inBody(): boolean {
    return this.bodyLeft > 0;
  }

  feed(chunk: Buffer): void {
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = Buffer.alloc(0);
    let pos = 0;
    while (pos < buf.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, buf.length - pos);
        this.bodyLeft -= take;
        this.handler.body(buf.subarray(pos, pos + take));
        pos += take;
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf === -1) {
        if (buf.length - pos > this.maxLineLength + 1) {
          throw new AudioStreamError('PROTOCOL_ERROR', `the server sent a line longer than ${this.maxLineLength} bytes`);
        }
        this.pending = Buffer.from(buf.subarray(pos));
        return;
      }
      let end = lf;
      if (end > pos && buf[end - 1] === CR) end--;
      if (end - pos > this.maxLineLength) {
        throw new AudioStreamError('PROTOCOL_ERROR', `the server sent a line longer than ${this.maxLineLength} bytes`);
      }
      const text = buf.toString('utf8', pos, end);
      pos = lf + 1;
      this.bodyLeft = this.handler.line(text);
    }
  }
}
