import type { LibraryEntry } from './scan.js';

/**
 * Facts computed from a file's content (its hash, its tags), remembered by the file's
 * identity: path, size and modification time. A file that changes gets a new identity,
 * so a stale fact is never served; computing one fact twice at once shares the work.
 */
export class FileFactsCache<T> {
  private readonly facts = new Map<string, T>();
  private readonly inFlight = new Map<string, Promise<T>>();

  static identity(entry: Pick<LibraryEntry, 'absolutePath' | 'size' | 'mtimeMs'>): string {
    return `${entry.size}:${entry.mtimeMs}:${entry.absolutePath}`;
  }

  get(entry: Pick<LibraryEntry, 'absolutePath' | 'size' | 'mtimeMs'>): T | undefined {
    return this.facts.get(FileFactsCache.identity(entry));
  }

  set(entry: Pick<LibraryEntry, 'absolutePath' | 'size' | 'mtimeMs'>, value: T): void {
    this.facts.set(FileFactsCache.identity(entry), value);
  }

  /** The cached fact, or `compute()`'s result (cached once it resolves). */
  obtain(entry: Pick<LibraryEntry, 'absolutePath' | 'size' | 'mtimeMs'>, compute: () => Promise<T>): Promise<T> {
    const key = FileFactsCache.identity(entry);
    if (this.facts.has(key)) return Promise.resolve(this.facts.get(key)!);
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = compute().then(
        (value) => {
          this.facts.set(key, value);
          this.inFlight.delete(key);
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

  /** Forgets facts of files no longer in the library, so the cache does not grow forever. */
  retainOnly(entries: readonly LibraryEntry[]): void {
    const live = new Set(entries.map((e) => FileFactsCache.identity(e)));
    for (const key of this.facts.keys()) if (!live.has(key)) this.facts.delete(key);
  }

  get size(): number {
    return this.facts.size;
  }
}
