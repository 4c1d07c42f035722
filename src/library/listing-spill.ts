import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SavedListing } from './saved-snapshot.js';

/** What a spill file's name starts with, in the database's folder (it is unlinked at once). */
export const SPILL_PREFIX = '.reply-';

/**
 * A LIST2 or LIST reply written to a file as it is built, to be sent from that file afterwards
 * instead of from memory: 100,000 files' reply is about 30 MB, which held on the heap was a
 * fifth of a first start's peak memory (docs/BENCHMARKS.md, scenario 11). The file is
 * removed from its folder as soon as it is opened, so it holds nothing anyone else can
 * read, and it is gone with its descriptor: at a crash, at a write that makes it stale, at a
 * stop. Its pages sit in the page cache, not in this process's memory.
 */
export class ListingSpill {
  private fd: number | undefined;
  private bytes = 0;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** A spill file in `directory` (the database's), or undefined when none can be made there. */
  static open(directory: string): ListingSpill | undefined {
    const file = path.join(directory, `${SPILL_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx+', 0o600);
    } catch {
      return undefined;
    }
    try {
      fs.unlinkSync(file);
    } catch {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true }); // a second try, not to leave it behind
      return undefined;
    }
    return new ListingSpill(fd);
  }

  /** Appends `chunk`; a failed write (a full disk) gives up the spill, not the reply. */
  add(chunk: Uint8Array): void {
    if (this.fd === undefined) return;
    try {
      for (let done = 0; done < chunk.length; ) done += fs.writeSync(this.fd, chunk, done, chunk.length - done, this.bytes + done);
      this.bytes += chunk.length;
    } catch {
      this.discard();
    }
  }

  /** The reply as written, to be sent from the file; undefined if the spill was given up. */
  finish(): SavedListing | undefined {
    if (this.fd === undefined) return undefined;
    const listing = SavedListing.ofDescriptor(this.fd, this.bytes);
    this.fd = undefined;
    return listing;
  }

  /** Lets the file go (a reply cut short, or one that straddled a write). */
  discard(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
