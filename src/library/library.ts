import { promises as fsp, type Stats } from 'node:fs';
import { AudioStreamError } from '../protocol/index.js';
import { FileFactsCache } from './file-facts-cache.js';
import { sha256OfOpenFile } from './file-hasher.js';
import { LibraryIndex } from './library-index.js';
import { DEFAULT_WATCH_MAX_DELAY_MS, LibraryWatcher, directoryIdentity } from './library-watcher.js';
import { openLibraryFile, type OpenedLibraryFile } from './safe-open.js';
import { scanLibrary, type LibraryEntry } from './scan.js';
import type { AudioTags } from './tag-reader.js';
import { TagWorkerPool } from './tag-worker-pool.js';

export interface LibraryOptions {
  /** Milliseconds between rescans; 0 turns periodic rescans off. */
  rescanIntervalMs?: number;
  onSkip?: (relativePath: string, reason: string) => void;
  /** Called after a rescan that changed something. */
  onChange?: (index: LibraryIndex, previous: LibraryIndex) => void;
  onScanError?: (err: unknown) => void;
  /** Read tags in the background after each scan (default true). */
  readTags?: boolean;
  /**
   * Watch the directory and rescan this many milliseconds after the last change
   * (default 500; 0 turns watching off). The periodic rescan stays as the fallback.
   */
  watchDebounceMs?: number;
  /** ...and at most this long after the first change, however busy (default 2000). */
  watchMaxDelayMs?: number;
  /** Called once if the directory cannot be watched (periodic rescans still run). */
  onWatchError?: (err: unknown) => void;
  /** A tag-reading thread failed or gave up on a file (those files show no tags). */
  onTagError?: (err: Error) => void;
}

/**
 * Tag reads in flight at once, spread over the workers: each worker reads one file at a
 * time, so more only queues; enough to keep every worker busy between messages.
 */
const TAG_READ_CONCURRENCY = 16;
export const DEFAULT_WATCH_DEBOUNCE_MS = 500;

export const DEFAULT_RESCAN_INTERVAL_MS = 60_000;

/**
 * A library directory and its current snapshot. `current` is replaced atomically by each
 * rescan: readers take the reference once per request and are never shown a half-built
 * index.
 */
export class Library {
  readonly root: string;
  current: LibraryIndex;
  private readonly options: LibraryOptions;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<LibraryIndex> | undefined;
  private rescanAgain = false;
  private watcher: LibraryWatcher | undefined;
  private closed = false;
  private tagPass: Promise<void> = Promise.resolve();
  /**
   * Where tags are read: worker threads, which use every core and keep a hostile file's
   * parse away from the event loop (tag-worker-pool.ts).
   */
  private readonly tagWorkers: TagWorkerPool;
  /** The library root with every link resolved: what "inside the library" means. */
  private realRoot = '';
  /** SHA-256 of each file, by identity (path, size, mtime): computed once, served many times. */
  readonly hashes = new FileFactsCache<string>();
  /** Tags of each file, by identity, read in the background after each scan. */
  readonly tags = new FileFactsCache<AudioTags>();
  /** Files whose tags were read (cache misses: tag passes and INFO), for logs and the benchmark. */
  tagFilesRead = 0;

  private constructor(root: string, index: LibraryIndex, options: LibraryOptions) {
    this.root = root;
    this.current = index;
    this.options = options;
    this.tagWorkers = new TagWorkerPool(options.onTagError ? { onWorkerError: options.onTagError } : {});
  }

  /** Scans `root` once and, if asked, keeps rescanning it. */
  static async open(root: string, options: LibraryOptions = {}): Promise<Library> {
    let stats;
    try {
      stats = await fsp.stat(root);
    } catch {
      throw new AudioStreamError('LIBRARY_NOT_FOUND', `library directory "${root}" not found: create it or pass -l DIR`);
    }
    if (!stats.isDirectory()) {
      throw new AudioStreamError('LIBRARY_NOT_FOUND', `"${root}" is not a directory: pass -l DIR with the folder of your music`);
    }
    const directories = new Map<string, string>();
    const scanOptions = { onDirectory: (dir: string, stats: Stats) => directories.set(dir, directoryIdentity(stats)), ...(options.onSkip ? { onSkip: options.onSkip } : {}) };
    const library = new Library(root, new LibraryIndex(await scanLibrary(root, scanOptions)), options);
    library.realRoot = await fsp.realpath(root);
    const interval = options.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    if (interval > 0) {
      library.timer = setInterval(() => {
        library.rescan().catch((err) => options.onScanError?.(err));
      }, interval);
      library.timer.unref();
    }
    library.watchDirectories(directories);
    library.startTagPass();
    return library;
  }

  /**
   * Opens a listed file for reading through the library's one safe-open primitive
   * (safe-open.ts): a link swapped in since the scan, anywhere in the path, serves no byte
   * from outside, and only a regular file is returned.
   * @throws AudioStreamError FILE_VANISHED, UNSAFE_PATH or UNREADABLE.
   */
  openFile(entry: LibraryEntry): Promise<OpenedLibraryFile> {
    return openLibraryFile(this.realRoot, entry.path);
  }

  /** The hash of a file, from the cache or by reading it once. */
  async sha256(entry: LibraryEntry): Promise<string> {
    const { handle, stat } = await this.openFile(entry);
    try {
      // Keyed by the file as it is now, not as the last scan saw it.
      return await this.hashes.obtain({ absolutePath: entry.absolutePath, size: stat.size, mtimeMs: stat.mtimeMs }, () => sha256OfOpenFile(handle));
    } finally {
      await handle.close();
    }
  }

  /** The tags of a file, from the cache or read once (on a worker thread). */
  async readTags(entry: LibraryEntry): Promise<AudioTags> {
    try {
      return await this.tags.obtain(entry, async () => {
        this.tagFilesRead++;
        const tags = await this.tagWorkers.read(this.realRoot, entry.path);
        // Not opened (a link out of the library, gone): nothing is cached, so nothing from
        // outside can stay in the listing, and the next pass tries again.
        if (tags === undefined) throw new Error('not opened');
        return tags;
      });
    } catch {
      return {};
    }
  }

  /** Resolves when tags of the current snapshot have been read (as far as they can be). */
  tagsSettled(): Promise<void> {
    return this.tagPass;
  }

  private startTagPass(): void {
    if (this.options.readTags === false) return;
    const index = this.current;
    const previous = this.tagPass;
    this.tagPass = (async () => {
      await previous;
      const todo = index.entries.filter((e) => this.tags.get(e) === undefined);
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < todo.length) {
          // Tags wait while a scan runs: both compete for the disk and the event loop, and
          // the scan is what keeps the listing true.
          while (this.scanning) await this.scanning.catch(() => undefined);
          if (this.closed) return;
          const entry = todo[next++]!;
          await this.readTags(entry);
        }
      };
      await Promise.all(Array.from({ length: Math.min(TAG_READ_CONCURRENCY, todo.length) }, lane));
      this.tags.retainOnly(index.entries);
      this.hashes.retainOnly(index.entries);
    })();
  }

  /**
   * Watches the directories the last scan walked (library-watcher.ts) and rescans after
   * changes. If watching fails (the inotify limit), the periodic rescan carries on alone.
   */
  private watchDirectories(directories: ReadonlyMap<string, string>): void {
    const debounceMs = this.options.watchDebounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS;
    if (debounceMs <= 0 || this.closed) return;
    this.watcher ??= new LibraryWatcher(this.root, {
      debounceMs,
      maxDelayMs: this.options.watchMaxDelayMs ?? DEFAULT_WATCH_MAX_DELAY_MS,
      onChange: () => void this.rescan().catch((err) => this.options.onScanError?.(err)),
      onError: (err) => this.options.onWatchError?.(err),
    });
    this.watcher.update(directories);
  }

  /** Scans again and swaps the new snapshot in. Concurrent calls share one scan. */
  rescan(): Promise<LibraryIndex> {
    if (this.scanning) {
      // A change seen during a scan may have been missed by it: scan once more after.
      this.rescanAgain = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        const directories = new Map<string, string>();
        const scanOptions = { onDirectory: (dir: string, stats: Stats) => directories.set(dir, directoryIdentity(stats)), ...(this.options.onSkip ? { onSkip: this.options.onSkip } : {}) };
        const next = new LibraryIndex(await scanLibrary(this.root, scanOptions));
        this.watchDirectories(directories);
        const previous = this.current;
        if (next.sameAs(previous)) return previous; // keep the cached LIST reply
        this.current = next;
        this.startTagPass();
        this.options.onChange?.(next, previous);
        return next;
      } finally {
        this.scanning = undefined;
        if (this.rescanAgain) {
          this.rescanAgain = false;
          void this.rescan().catch((err) => this.options.onScanError?.(err));
        }
      }
    })();
    return this.scanning;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.closed = true;
    void this.tagWorkers.close();
    this.watcher?.close();
  }
}
