import fs from 'node:fs';
import { PackedEntries } from './packed-entries.js';

/**
 * The snapshot and its LIST2 reply as a clean stop left them, in two files beside the
 * database (`<database>.snapshot`, `<database>.list2`), so that the next start reads two
 * files instead of 100,000 rows. They hold no fact of their own: each starts with a token
 * that the database also holds (library_meta), and the database forgets the token in the
 * same transaction as any write that would make them stale; a file whose token is not the
 * database's is ignored. Files, not database values: the reply (about 30 MB for 100,000
 * files) is then sent from the page cache a piece at a time and never held on the heap.
 */
const MAGIC = Buffer.from('ASSNAP1\n', 'latin1');
const TOKEN_BYTES = 32; // hex of 16 random bytes
const HEADER_BYTES = MAGIC.length + TOKEN_BYTES;
/** Pieces the saved reply is read and sent in. */
const READ_BYTES = 1 << 20;

export function snapshotFile(databaseFile: string): string {
  return `${databaseFile}.snapshot`;
}

export function listingFile(databaseFile: string): string {
  return `${databaseFile}.list2`;
}

/** Writes `payload` pieces under `token` to `file`, through a temporary name (never half a file at the final one). */
export function writeSaved(file: string, token: string, payload: Iterable<Uint8Array>): void {
  const temporary = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(temporary, 'w', 0o600);
  try {
    fs.writeSync(fd, MAGIC);
    fs.writeSync(fd, Buffer.from(token, 'latin1'));
    for (const piece of payload) fs.writeSync(fd, piece);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(temporary, file);
}

/** The saved snapshot, if `file` holds one under `token`. */
export function readSavedSnapshot(file: string, token: string, prefix: string): PackedEntries | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (!hasToken(bytes.subarray(0, HEADER_BYTES), token)) return undefined;
  return PackedEntries.decode(prefix, bytes.subarray(HEADER_BYTES));
}

/**
 * A saved LIST2 reply, opened: read from its open descriptor each time it is sent (a file
 * replaced or removed meanwhile does not change what this one reads).
 */
export class SavedListing implements Iterable<Buffer> {
  private fd: number | undefined;
  private readonly length: number;
  /** Where the reply starts in the file (after the header, in a saved one). */
  private readonly start: number;
  /** Replies being sent now: a close waits for them (a write during a listing drops the cache). */
  private readers = 0;
  private closing = false;

  private constructor(fd: number, length: number, start = HEADER_BYTES) {
    this.fd = fd;
    this.length = length;
    this.start = start;
  }

  /** A reply that is the whole of the file open at `fd` (which this then owns and closes). */
  static ofDescriptor(fd: number, length: number): SavedListing {
    return new SavedListing(fd, length, 0);
  }

  /** The saved reply in `file`, if it is there under `token`. */
  static open(file: string, token: string): SavedListing | undefined {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return undefined;
    }
    const header = Buffer.alloc(HEADER_BYTES);
    const size = fs.fstatSync(fd).size;
    if (fs.readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES || !hasToken(header, token)) {
      fs.closeSync(fd);
      return undefined;
    }
    return new SavedListing(fd, size - HEADER_BYTES);
  }

  get bytes(): number {
    return this.length;
  }

  *[Symbol.iterator](): Generator<Buffer> {
    yield* this.pieces(() => false);
  }

  /**
   * The reply, a megabyte a piece. A piece's memory is read into again when `mayReuse()`
   * says the consumer has let go of it (the socket wrote it out), else a fresh one is
   * taken: a 30 MB reply then costs one megabyte, not thirty waiting for the collector.
   */
  *pieces(mayReuse: () => boolean, pieceBytes = READ_BYTES): Generator<Buffer> {
    if (this.fd === undefined || this.closing) throw new Error('the saved listing is closed');
    const fd = this.fd;
    this.readers++;
    try {
      let buffer: Buffer | undefined;
      for (let at = 0; at < this.length; ) {
        if (!buffer || !mayReuse()) buffer = Buffer.allocUnsafe(pieceBytes);
        const piece = buffer.subarray(0, Math.min(pieceBytes, this.length - at));
        const read = fs.readSync(fd, piece, 0, piece.length, this.start + at);
        if (read !== piece.length) throw new Error('the saved listing is shorter than it was');
        at += read;
        yield piece;
      }
    } finally {
      this.readers--;
      if (this.closing && this.readers === 0) this.closeNow();
    }
  }

  /** Closes the file now, or once the replies being sent from it are done. */
  close(): void {
    this.closing = true;
    if (this.readers === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Removes both saved files (their token is already gone from the database). */
export function removeSaved(databaseFile: string): void {
  for (const file of [snapshotFile(databaseFile), listingFile(databaseFile)]) fs.rmSync(file, { force: true });
}

function hasToken(header: Buffer, token: string): boolean {
  return header.length === HEADER_BYTES && header.subarray(0, MAGIC.length).equals(MAGIC) && header.subarray(MAGIC.length).toString('latin1') === token;
}

