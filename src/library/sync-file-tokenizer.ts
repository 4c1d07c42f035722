import fs from 'node:fs';
import { AbstractTokenizer, EndOfStreamError, type IFileInfo, type IReadChunkOptions } from 'strtok3';

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
 */
export class SyncFileTokenizer extends AbstractTokenizer {
  readonly fileInfo: IFileInfo;
  private readonly fd: number;

  /** Opens `path` (a regular file only: a FIFO must not block the thread) for parsing. */
  static open(path: string): SyncFileTokenizer {
    const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
      return new SyncFileTokenizer(fd, { path, size: stat.size });
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  private constructor(fd: number, fileInfo: IFileInfo) {
    super({ fileInfo });
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
