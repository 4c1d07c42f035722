import { setImmediate as nextTurn } from 'node:timers/promises';
import { AudioStreamError } from '../protocol/index.js';
import { displayText } from './display-text.js';

/** Characters gathered before a write: big enough to be cheap, small enough to stay bounded. */
const BATCH_CHARS = 64 * 1024;

/**
 * The one way the shell prints. Every line goes through {@link displayText} here, on its
 * way out, so that no name, tag or message from a server can reach the terminal raw,
 * whichever message it is part of (`saved …`, `already saved …`, an error's context):
 * escaping in each message missed some. The shell's own text has no control characters,
 * so escaping whole lines changes nothing of it.
 *
 * Long output (a listing) is written in batches of about 64 K characters, never built as
 * one string: a million escaped names can be longer than V8's longest string (536,870,888
 * characters), and the join threw `RangeError: Invalid string length`. Between batches it
 * waits for the stream to drain and lets the event loop run, so memory stays bounded and
 * Ctrl-C is heard.
 */
export class ShellOutput {
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream, err: NodeJS.WritableStream) {
    this.out = out;
    this.err = err;
  }

  /** One line on standard output (without its newline). */
  line(text: string): void {
    this.out.write(`${displayText(text)}\n`);
  }

  /** One line on standard error (without its newline). */
  error(text: string): void {
    this.err.write(`${displayText(text)}\n`);
  }

  /** Each line of `text` (the shell's own, e.g. help), as {@link line}. */
  text(text: string): void {
    for (const l of text.replace(/\n$/, '').split('\n')) this.line(l);
  }

  /**
   * Many lines on standard output, in bounded batches. Stops with CANCELLED when `signal`
   * aborts; resolves once every line has been handed to the stream.
   */
  async lines(lines: Iterable<string>, signal?: AbortSignal): Promise<void> {
    let batch: string[] = [];
    let chars = 0;
    for (const l of lines) {
      const shown = displayText(l);
      batch.push(shown);
      chars += shown.length + 1;
      if (chars >= BATCH_CHARS) {
        await this.writeBatch(batch, signal);
        batch = [];
        chars = 0;
      }
    }
    if (batch.length > 0) await this.writeBatch(batch, signal);
  }

  /** Resolves when standard output has room again (at once if it has). */
  drained(): Promise<void> {
    return waitForDrain(this.out);
  }

  private async writeBatch(batch: string[], signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
    batch.push('');
    const ok = this.out.write(batch.join('\n'));
    // Pipes and terminals are written synchronously on Linux: without a turn of the event
    // loop between batches, a SIGINT would wait for the whole listing.
    if (ok) await nextTurn();
    else await waitForDrain(this.out, signal);
    if (signal?.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
  }
}

/**
 * Waits for 'drain' if the stream needs one; a stream that closes or fails, or a cancel,
 * ends the wait too (a reader that stopped reading must not make Ctrl-C wait).
 */
function waitForDrain(stream: NodeJS.WritableStream, signal?: AbortSignal): Promise<void> {
  const writable = stream as NodeJS.WritableStream & { writableNeedDrain?: boolean; destroyed?: boolean };
  if (!writable.writableNeedDrain || writable.destroyed || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
