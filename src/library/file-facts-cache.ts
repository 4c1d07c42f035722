import type { LibraryEntry } from './scan.js';

/** What identifies a file's content: its path and everything stat says changes with a write. */
export type FactIdentity = Pick<LibraryEntry, 'path' | 'absolutePath' | 'size' | 'mtimeMs' | 'ctimeMs' | 'ino' | 'dev'>;

/** Where facts are kept for good (the library database); `save` is false when it declines one. */
export interface FactBacking<T> {
  load(identity: FactIdentity): T | undefined;
  save(identity: FactIdentity, value: T): boolean;
}

/**
 * Facts beyond the database, for files whose stat differs from the one it knows (changed
 * since the last scan): kept in memory, this many at most, oldest dropped first.
 */
const MAX_LOOSE_FACTS = 4096;

/**
 * Facts computed from a file's content (its hash, its tags), remembered by the file's
 * identity: path, size, modification and status-change times, inode and device. A file
 * that changes gets a new identity, so a stale fact is never served (a rewrite that keeps
 * size and mtime still moves ctime); computing one fact twice at once shares the work.
 * Facts live in the backing (the database); those it declines are held in a small memory.
 */
export class FileFactsCache<T> {
  private readonly backing: FactBacking<T>;
  private readonly loose = new Map<string, T>();
  private readonly inFlight = new Map<string, Promise<T>>();

  constructor(backing: FactBacking<T>) {
    this.backing = backing;
  }

  static identity(entry: FactIdentity): string {
    return `${entry.size}:${entry.mtimeMs}:${entry.ctimeMs}:${entry.dev}:${entry.ino}:${entry.absolutePath}`;
  }

  get(entry: FactIdentity): T | undefined {
    return this.backing.load(entry) ?? this.loose.get(FileFactsCache.identity(entry));
  }

  set(entry: FactIdentity, value: T): void {
    if (this.backing.save(entry, value)) return;
    const key = FileFactsCache.identity(entry);
    this.loose.delete(key);
    this.loose.set(key, value);
    if (this.loose.size > MAX_LOOSE_FACTS) this.loose.delete(this.loose.keys().next().value!);
  }

  /** The known fact, or `compute()`'s result (kept once it resolves). */
  obtain(entry: FactIdentity, compute: () => Promise<T>): Promise<T> {
    const known = this.get(entry);
    if (known !== undefined) return Promise.resolve(known);
    return this.compute(entry, compute);
  }

  /** `compute()`'s result, kept, whatever is known already (a forced rescan). */
  refresh(entry: FactIdentity, compute: () => Promise<T>): Promise<T> {
    return this.compute(entry, compute);
  }

  /** Forgets the facts held in memory (those in the backing are its business). */
  forgetLoose(): void {
    this.loose.clear();
  }

  private compute(entry: FactIdentity, compute: () => Promise<T>): Promise<T> {
    const key = FileFactsCache.identity(entry);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = compute().then(
        (value) => {
          this.inFlight.delete(key);
          this.set(entry, value);
          return value;
        },
        (err: unknown) => {
          this.inFlight.delete(key);
          throw err;
        },
      );
      this.inFlight.set(key, pending);
    }
    return pending;
  }
}
