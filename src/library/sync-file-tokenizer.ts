import fs from 'node:fs';
import { AbstractTokenizer, EndOfStreamError, type IFileInfo, type IReadChunkOptions } from 'strtok3';
import { openLibraryFileSync } from './safe-open.js';

import { MAX_TAG_READ_BYTES } from './tag-read-limit.js';

export { MAX_TAG_READ_BYTES };

/** A tag parse asked for more than {@link MAX_TAG_READ_BYTES}. */
export class TagReadLimitError extends RangeError {
  constructor(what: string) {
    super(`tag reading refused: ${what} exceeds the limit of ${MAX_TAG_READ_BYTES} bytes per file`);
    this.name = 'TagReadLimitError';
  }
}

/**
 * A music-metadata tokenizer that reads its file with synchronous `pread`s. For use on a
 * worker thread only, where blocking is harmless; never on the server's event loop.
 *
 * Parsing one file's tags takes about 25 small reads. Through the library's own file
 * tokenizer each is a thread-pool round trip, and those round trips were most of the
 * cost: 20,000 small real files parsed at 1,900 per second with 16 in flight, against
 * 5,500 per second one after the other with these reads (docs/BENCHMARKS.md).
 * The reads mirror strtok3's FileTokenizer: short reads are retried, only a zero-byte
 * read is the end of the file.
 *
 * Every read counts against {@link MAX_TAG_READ_BYTES}, and strtok3's `maxBufferSize`
 * refuses a token buffer past it before allocating: the worker's heap limit does not cover
 * ArrayBuffers, so without this one crafted file could make a worker hold gigabytes.
 */
export class SyncFileTokenizer extends AbstractTokenizer {
  readonly fileInfo: IFileInfo;
  private readonly fd: number;
  private bytesRead = 0;

  /**
   * Opens a file of the library through the safe-open primitive (inside the real root, a
   * regular file, never through a link swapped in: see safe-open.ts) for parsing.
   */
  static openInLibrary(realRoot: string, relativePath: string): SyncFileTokenizer {
    const { fd, stat } = openLibraryFileSync(realRoot, relativePath);
    return SyncFileTokenizer.ofOpenFile(fd, stat.size, relativePath);
  }

  /**
   * A tokenizer over a file already opened through the safe-open primitive (the fast path
   * looked at it first); it owns `fd` from now on and closes it.
   */
  static ofOpenFile(fd: number, size: number, relativePath: string): SyncFileTokenizer {
    return new SyncFileTokenizer(fd, { path: relativePath, size });
  }

  private constructor(fd: number, fileInfo: IFileInfo) {
    super({ fileInfo, maxBufferSize: MAX_TAG_READ_BYTES });
    this.fd = fd;
    this.fileInfo = fileInfo;
  }

  async readBuffer(buffer: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const normalized = this.normalizeOptions(buffer, options);
    this.position = normalized.position;
    return this.readAt(buffer, normalized, true);
  }

  async peekBuffer(buffer: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    return this.readAt(buffer, this.normalizeOptions(buffer, options), false);
  }

  setPosition(position: number): void {
    this.validateLength(position, 'position');
    this.position = position;
  }

  supportsRandomAccess(): boolean {
    return true;
  }

  protected override async closeOnce(): Promise<void> {
    fs.closeSync(this.fd);
    await super.closeOnce();
  }

  private readAt(buffer: Uint8Array, options: { length: number; position: number; mayBeLess?: boolean }, advance: boolean): number {
    // Counted before reading: a parser that allocated a huge buffer itself still gets no
    // byte into it, so its pages are never touched.
    if (this.bytesRead + options.length > MAX_TAG_READ_BYTES) throw new TagReadLimitError(`reading ${options.length} bytes after ${this.bytesRead}`);
    this.bytesRead += options.length;
    let done = 0;
    while (done < options.length) {
      const n = fs.readSync(this.fd, buffer, done, options.length - done, options.position + done);
      done += n;
      if (advance) this.position += n;
      if (n === 0) break;
    }
    if (!options.mayBeLess && done < options.length) throw new EndOfStreamError();
    return done;
  }
}
