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
 *
 * A line split over many chunks (a LIST2 record of up to 1 MiB arrives in 64 KiB reads)
 * is gathered as a list of copied pieces and joined once, when its end arrives: joining
 * at every chunk copied the line so far again each time, quadratic in its length.
 */
export class ReplyReader {
  private readonly handler: ReplyReaderHandler;
  private readonly maxLineLength: number;
  /** The start of a line whose end has not arrived yet, as copies (the chunks may be reused buffers). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
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
    let pos = 0;
    while (pos < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - pos);
        this.bodyLeft -= take;
        this.handler.body(chunk.subarray(pos, pos + take));
        pos += take;
        continue;
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        // CR LF counts as the line's end, so a line of the limit may have its CR here.
        if (this.pendingBytes + chunk.length - pos > this.maxLineLength + 1) throw this.tooLong();
        this.pending.push(Buffer.from(chunk.subarray(pos)));
        this.pendingBytes += chunk.length - pos;
        return;
      }
      let line = chunk.subarray(pos, lf);
      if (this.pending.length > 0) {
        line = Buffer.concat([...this.pending, line], this.pendingBytes + line.length);
        this.pending = [];
        this.pendingBytes = 0;
      }
      const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
      if (end > this.maxLineLength) throw this.tooLong();
      const text = line.toString('utf8', 0, end);
      pos = lf + 1;
      this.bodyLeft = this.handler.line(text);
    }
  }

  private tooLong(): AudioStreamError {
    const limit = this.maxLineLength;
    const shown = limit >= 1024 * 1024 && limit % (1024 * 1024) === 0 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`;
    return new AudioStreamError('PROTOCOL_ERROR', `the server sent a line longer than ${shown}`);
  }
}
