import { MAX_V1_SIZE, encodeListResponse } from '../protocol/index.js';
import type { LibraryEntry } from './scan.js';

/**
 * An immutable snapshot of the library, as one scan saw it. A rescan builds a new
 * LibraryIndex and swaps it in; a request that already holds an entry keeps it.
 */
export class LibraryIndex {
  /** Every file, sorted by path. */
  readonly entries: readonly LibraryEntry[];
  /**
   * The files protocol v1 can describe: v1 sizes are 32-bit, so a file of 4 GiB or more
   * is left out of the v1 view rather than announced with a wrong size. v1 indexes are
   * positions in this list.
   */
  readonly v1Entries: readonly LibraryEntry[];
  readonly scannedAt: Date;
  private v1ListReplyCache: Buffer | undefined;
  private byPathCache: Map<string, LibraryEntry> | undefined;

  constructor(entries: readonly LibraryEntry[], scannedAt = new Date()) {
    this.entries = entries;
    this.v1Entries = entries.filter((e) => e.size <= MAX_V1_SIZE);
    this.scannedAt = scannedAt;
  }

  /** The entry at a relative path (v2 addresses files by path, which a rescan does not shift). */
  byPath(path: string): LibraryEntry | undefined {
    this.byPathCache ??= new Map(this.entries.map((e) => [e.path, e]));
    return this.byPathCache.get(path);
  }

  /** The whole v1 LIST reply, encoded once per snapshot and shared by every request. */
  v1ListReply(): Buffer {
    if (!this.v1ListReplyCache) {
      this.v1ListReplyCache = encodeListResponse(this.v1Entries.map((e) => e.path));
    }
    return this.v1ListReplyCache;
  }

  /** True when both snapshots list the same files with the same stat (size, times, inode, device). */
  sameAs(other: LibraryIndex): boolean {
    if (other.entries.length !== this.entries.length) return false;
    return this.entries.every((e, i) => {
      const o = other.entries[i]!;
      return (
        e.path === o.path &&
        e.size === o.size &&
        e.mtimeMs === o.mtimeMs &&
        e.ctimeMs === o.ctimeMs &&
        e.ino === o.ino &&
        e.dev === o.dev &&
        e.absolutePath === o.absolutePath
      );
    });
  }
}
