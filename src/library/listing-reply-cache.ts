import type { EntrySequence } from './packed-entries.js';

/**
 * The largest LIST2 reply kept encoded in memory, where it cannot be kept in a file beside the
 * database (listing-spill.ts): an in-memory database, or no file could be made. 100,000 files
 * with their tags and hashes make about 30 MB, held for as long as neither the snapshot nor
 * the database changes; past this bound
 * (a library of several hundred thousand files) the memory would cost more than the 0.3-0.7 s
 * a listing takes to read from the database, and each LIST2 is read from it instead.
 */
export const MAX_CACHED_LISTING_BYTES = 64 * 2 ** 20;

/**
 * The whole LIST2 reply body of one snapshot, encoded once and shared by every request until
 * the database changes (a tag batch, a hash, a reconcile): reading 100,000 rows back from
 * SQLite costs about 3 µs each, writing cached bytes nothing. The v1 LIST reply is cached the
 * same way, per snapshot, in LibraryIndex.
 */
export class ListingReplyCache {
  private entries: EntrySequence | undefined;
  private reply: ((mayReuse: () => boolean) => Iterable<Buffer>) | undefined;
  private release: (() => void) | undefined;

  /** The reply of exactly this snapshot, if it is kept. */
  get(entries: EntrySequence): ((mayReuse: () => boolean) => Iterable<Buffer>) | undefined {
    return this.entries === entries ? this.reply : undefined;
  }

  /** Keeps a reply built whole with no database write in between (dropped past the bound). */
  keep(entries: EntrySequence, chunks: readonly Buffer[], bytes: number): void {
    if (bytes > MAX_CACHED_LISTING_BYTES) return;
    this.drop();
    this.entries = entries;
    this.reply = () => chunks;
  }

  /**
   * Keeps a reply that is read from elsewhere (a file) each time, into memory it may reuse
   * once `mayReuse()` says the last piece was let go of; `release` when dropped.
   */
  keepReadable(entries: EntrySequence, reply: (mayReuse: () => boolean) => Iterable<Buffer>, release: () => void): void {
    this.drop();
    this.entries = entries;
    this.reply = reply;
    this.release = release;
  }

  /** Forgets the reply: what it says is no longer what the database says. */
  drop(): void {
    this.release?.();
    this.entries = undefined;
    this.reply = undefined;
    this.release = undefined;
  }
}
