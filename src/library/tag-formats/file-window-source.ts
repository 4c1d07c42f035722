/**
 * The fast path's reads from an open file: the first 64 KiB (or the whole file when smaller)
 * in one pread into a buffer reused for every file of the thread, and only where a format
 * needs more (a tag larger than the window, moov after mdat) further bounded preads: a read
 * past the window fetches the next 64 KiB from there into a second reused buffer, a read
 * larger than that gets a buffer of its own. All of it counts against MAX_TAG_READ_BYTES,
 * as music-metadata's reads do.
 */
import fs from 'node:fs';
import { MAX_TAG_READ_BYTES } from '../tag-read-limit.js';
import type { ByteSource } from './byte-source.js';

export const WINDOW_BYTES = 64 * 1024;

// One pair of windows per thread: the tag workers read one file after another.
let headWindow: Buffer | undefined;
let farWindow: Buffer | undefined;

export class FileWindowSource implements ByteSource {
  readonly size: number;
  private readonly fd: number;
  private readonly head: Uint8Array;
  /** A second window, further on (moov after mdat, frames after a large ID3v2 tag). */
  private far: Uint8Array | undefined;
  private farStart = 0;
  private bytesRead: number;

  /** Reads the window of `fd` (a regular file of `size` bytes) at once. */
  constructor(fd: number, size: number) {
    this.fd = fd;
    this.size = size;
    headWindow ??= Buffer.allocUnsafe(WINDOW_BYTES);
    const got = readFully(fd, headWindow, Math.min(size, WINDOW_BYTES), 0);
    // A file that shrank since its fstat: the window ends where the bytes did. A plain view:
    // its subarrays are far cheaper to make than a Buffer's.
    this.head = new Uint8Array(headWindow.buffer, headWindow.byteOffset, got);
    this.bytesRead = got;
  }

  read(offset: number, length: number): Uint8Array | undefined {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) return undefined;
    if (offset + length <= this.head.length) return this.head.subarray(offset, offset + length);
    const far = this.far;
    if (far && offset >= this.farStart && offset + length <= this.farStart + far.length) return far.subarray(offset - this.farStart, offset - this.farStart + length);
    if (length > WINDOW_BYTES) {
      if (this.bytesRead + length > MAX_TAG_READ_BYTES) return undefined;
      this.bytesRead += length;
      const buffer = Buffer.allocUnsafe(length);
      return readFully(this.fd, buffer, length, offset) === length ? buffer : undefined;
    }
    // A small read past the first window: the next window's worth from there, for the reads
    // that follow it.
    const windowLength = Math.min(WINDOW_BYTES, this.size - offset);
    if (this.bytesRead + windowLength > MAX_TAG_READ_BYTES) return undefined;
    this.bytesRead += windowLength;
    farWindow ??= Buffer.allocUnsafe(WINDOW_BYTES);
    const got = readFully(this.fd, farWindow, windowLength, offset);
    this.far = new Uint8Array(farWindow.buffer, farWindow.byteOffset, got);
    this.farStart = offset;
    return got >= length ? this.far.subarray(0, length) : undefined;
  }
}

/** pread until `length` bytes or the end of the file (a zero-byte read). */
function readFully(fd: number, buffer: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
