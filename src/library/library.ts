import { promises as fsp, type Stats } from 'node:fs';
import { AudioStreamError, type V2Entry } from '../protocol/index.js';
import { ServerDatabase } from './database.js';
import { FileFactsCache, type FactIdentity } from './file-facts-cache.js';
import { sha256OfOpenFile } from './file-hasher.js';
import { LibraryIndex } from './library-index.js';
import { LibraryStore, type ReconcileCounts } from './library-store.js';
import { DEFAULT_WATCH_MAX_DELAY_MS, LibraryWatcher, directoryIdentity } from './library-watcher.js';
import { openLibraryFile, type OpenedLibraryFile } from './safe-open.js';
import { PackedEntries, type EntrySequence } from './packed-entries.js';
import { scanLibraryPacked, type LibraryEntry } from './scan.js';
import type { AudioTags } from './tag-reader.js';
import { holdYoungGeneration } from './young-generation.js';
import { collectGarbageNow } from './full-collection.js';
import { DEFAULT_TAG_WORKERS, TAG_BATCH_FILES, TAG_FILES_IN_FLIGHT_PER_WORKER, TagWorkerPool } from './tag-worker-pool.js';

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
   * A tag pass of at least this many files is a long one (default 10,000): at its end the tag
   * workers stop, a full collection runs and the LIST2 reply is made ready.
   */
  longTagPassFiles?: number;
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
  /**
   * Where the library is remembered between runs (database.ts), or a function that opens it,
   * called once the library directory is known to exist (so a mistyped -l creates nothing);
   * without one, a database in memory, forgotten at exit.
   */
  database?: ServerDatabase | ((realRoot: string) => ServerDatabase);
  /** Ignore what the database knows: scan first and read every file's tags again. */
  rescanNow?: boolean;
  /** A scan started (for the log). */
  onScanStart?: (scan: { full: boolean }) => void;
  /** A scan ended, with what it found changed since the database last knew the library. */
  onScanEnd?: (scan: ScanReport) => void;
  /** A tag pass that read at least one file ended. */
  onTagPassEnd?: (pass: { files: number; ms: number }) => void;
}

export interface ScanReport extends ReconcileCounts {
  full: boolean;
  ms: number;
}

/**
 * Batches of tag reads a tag pass keeps asked for: enough for every worker's batches in
 * flight (tag-worker-pool.ts) and as many again queued, so that the next batch is ready
 * when one comes back.
 */
const TAG_BATCHES_IN_FLIGHT = 2 * (TAG_FILES_IN_FLIGHT_PER_WORKER / TAG_BATCH_FILES) * DEFAULT_TAG_WORKERS;
/** A tag pass of at least this many files is a long one (LibraryOptions.longTagPassFiles). */
const LONG_TAG_PASS = 10_000;
export const DEFAULT_WATCH_DEBOUNCE_MS = 500;

export const DEFAULT_RESCAN_INTERVAL_MS = 60_000;

/**
 * After a start from the database, the reconciling scan waits this long, or until the first
 * listing has been sent whole, whichever comes first: the clients that connect at once get
 * their listing from the database without 100,000 stat() callbacks competing for the event
 * loop, and the scan (about 1-3 s for 100,000 files) starts right after.
 */
export const RECONCILE_DELAY_MS = 1000;

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

  /** The library root with every link resolved (for readers on other threads, which open through safe-open). */
  get resolvedRoot(): string {
    return this.realRoot;
  }
  /** What is remembered about each file, its albums and artists (library-store.ts). */
  readonly store: LibraryStore;
  /** SHA-256 of each file, by identity (path and stat): computed once, kept in the database. */
  readonly hashes: FileFactsCache<string>;
  /** Tags of each file, by identity, read in the background after each scan and kept in the database. */
  readonly tags: FileFactsCache<AudioTags>;
  /** Files whose tags were read (cache misses: tag passes and INFO), for logs and the benchmark. */
  tagFilesRead = 0;
  /** The next scan also reads every file's tags again and forgets every hash. */
  private fullScanPending = false;
  /** Starts the reconciling scan of a start from the database, while it waits (see RECONCILE_DELAY_MS). */
  private pendingReconcile: (() => void) | undefined;

  private constructor(root: string, index: LibraryIndex, options: LibraryOptions, store: LibraryStore) {
    this.root = root;
    this.current = index;
    this.options = options;
    this.store = store;
    this.hashes = new FileFactsCache<string>({ load: (id) => store.sha256(id), save: (id, sha256) => store.putSha256(id, sha256) });
    this.tags = new FileFactsCache<AudioTags>({
      load: (id) => store.tags(id),
      save: (id, tags) => {
        store.putTags(id, tags);
        return true;
      },
    });
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
    const realRoot = await fsp.realpath(root);
    const database = typeof options.database === 'function' ? options.database(realRoot) : options.database;
    const store = new LibraryStore(database ?? ServerDatabase.inMemory());
    const known = options.rescanNow ? undefined : store.knownEntries(realRoot);
    if (known && known.length > 0) {
      // What the last run knew is served at once (its tags and hashes were read under the
      // stat each record carries); the scan that checks it against the disk starts soon
      // (RECONCILE_DELAY_MS) and swaps in its result like any rescan.
      const library = new Library(root, new LibraryIndex(known), options, store);
      library.realRoot = realRoot;
      library.startTimer();
      const remembered = library.current;
      library.pendingReconcile = () => {
        library.pendingReconcile = undefined;
        clearTimeout(timer);
        if (library.closed) return;
        void library
          .rescan()
          .then((index) => {
            if (index === remembered) library.startTagPass(); // unchanged: only what a crash left unread
          })
          .catch((err) => options.onScanError?.(err));
      };
      const timer = setTimeout(() => library.pendingReconcile?.(), RECONCILE_DELAY_MS);
      return library;
    }
    const started = performance.now();
    const release = holdYoungGeneration(); // until the tag pass has its own hold
    try {
      return await Library.firstScan(root, realRoot, store, options, started);
    } finally {
      release();
    }
  }

  /** A start without a usable snapshot: scan, reconcile, then serve while the tags are read. */
  private static async firstScan(root: string, realRoot: string, store: LibraryStore, options: LibraryOptions, started: number): Promise<Library> {
    options.onScanStart?.({ full: options.rescanNow === true });
    const directories = new Map<string, string>();
    const scanOptions = { onDirectory: (dir: string, stats: Stats) => directories.set(dir, directoryIdentity(stats)), ...(options.onSkip ? { onSkip: options.onSkip } : {}) };
    const entries = await scanLibraryPacked(root, scanOptions);
    const counts = store.reconcile(realRoot, entries);
    // The scan's paths and the reconcile's rows (full-collection.ts), once this call has
    // returned: until then the scan's last callbacks, and the 100,000 paths they reach, live.
    setImmediate(collectGarbageNow);
    if (options.rescanNow) store.clearHashes();
    options.onScanEnd?.({ ...counts, full: options.rescanNow === true, ms: performance.now() - started });
    const library = new Library(root, new LibraryIndex(entries), options, store);
    library.realRoot = realRoot;
    library.startTimer();
    library.watchDirectories(directories);
    library.startTagPass(options.rescanNow === true);
    return library;
  }

  private startTimer(): void {
    const options = this.options;
    const interval = options.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    if (interval > 0) {
      this.timer = setInterval(() => {
        this.rescan().catch((err) => options.onScanError?.(err));
      }, interval);
      this.timer.unref();
    }
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
      const { size, mtimeMs, ctimeMs, ino, dev } = stat;
      return await this.hashes.obtain({ path: entry.path, absolutePath: entry.absolutePath, size, mtimeMs, ctimeMs, ino, dev }, () => sha256OfOpenFile(handle));
    } finally {
      await handle.close();
    }
  }

  /**
   * What INFO tells of a file: its hash and tags, both of the file as it is now. The file is
   * opened and stat'ed first, and both facts are looked up (or computed) under that stat:
   * a file changed since the snapshot (while the server was down, say, before the
   * reconciling scan has seen it) is described afresh, never with the snapshot's tags
   * beside a hash of the new content.
   */
  async describeNow(entry: LibraryEntry): Promise<{ identity: LibraryEntry; sha256: string; tags: AudioTags }> {
    const { handle, stat } = await this.openFile(entry);
    let identity: LibraryEntry;
    let sha256: string;
    try {
      const { size, mtimeMs, ctimeMs, ino, dev } = stat;
      identity = { path: entry.path, absolutePath: entry.absolutePath, size, mtimeMs, ctimeMs, ino, dev };
      sha256 = await this.hashes.obtain(identity, () => sha256OfOpenFile(handle));
    } finally {
      await handle.close();
    }
    const tags = await this.readTags(identity);
    return { identity, sha256, tags };
  }

  /**
   * The tags of a file, from the database or read once (on a worker thread). A read that
   * could not be made (the library closed meanwhile, or the file could not be opened safely)
   * gives no tags and keeps nothing: a read cut short must not be kept as "no tags".
   */
  readTags(entry: LibraryEntry): Promise<AudioTags> {
    return this.tags.obtain(entry, () => this.readTagsFromFile(entry)).catch(() => ({}));
  }

  private async readTagsFromFile(entry: FactIdentity & { path: string }): Promise<AudioTags> {
    this.tagFilesRead++;
    const tags = await this.tagWorkers.read(this.realRoot, entry.path);
    if (this.closed) throw new AudioStreamError('UNREADABLE', 'the library closed while tags were being read');
    // Not opened (a link out of the library, gone): nothing is kept, so nothing from outside
    // can stay in the listing, and the next pass tries again.
    if (tags === undefined) throw new AudioStreamError('UNSAFE_PATH', `"${entry.path}" could not be opened safely for its tags`);
    return tags;
  }

  /**
   * The v2 listing records of a snapshot's entries, in order, a thousand at a time, from the
   * database: tags and hash where they were read under the stat the entry carries.
   */
  records(entries: EntrySequence): Iterable<V2Entry[]> {
    return this.store.records(entries);
  }

  /** The v1 LIST reply of `index` (a snapshot's) in pieces; see LibraryIndex.v1ListPieces. */
  v1ListReply(index: LibraryIndex, mayReuse?: () => boolean): Iterable<Buffer> {
    return index.v1ListPieces(this.store.spillDirectory, mayReuse);
  }

  /**
   * A snapshot's LIST2 reply body, encoded, in chunks of a thousand lines: kept once built,
   * until the snapshot or the database changes (listing-reply-cache.ts). `mayReuse()` says
   * when the consumer has let go of the last chunk (a reply read from a file reuses it).
   */
  *listingReply(entries: EntrySequence, mayReuse?: () => boolean): Generator<Buffer> {
    yield* this.store.listingReply(entries, mayReuse);
    this.pendingReconcile?.(); // a listing went out whole: the reconciling scan may start
  }

  /** The LIST2 lines of a snapshot's entries, in order, a thousand a string (CR LF after each). */
  listingLines(entries: EntrySequence): Iterable<string> {
    return this.store.listingLines(entries);
  }

  /** Scans again, re-reading every file's tags and forgetting every hash (--rescan-now, SIGHUP). */
  rescanFully(): Promise<LibraryIndex> {
    this.fullScanPending = true;
    return this.rescan();
  }

  /** Resolves when tags of the current snapshot have been read (as far as they can be). */
  tagsSettled(): Promise<void> {
    return this.tagPass;
  }

  private startTagPass(full = false): void {
    if (this.options.readTags === false) return;
    const index = this.current;
    const previous = this.tagPass;
    this.tagPass = (async () => {
      await previous;
      if (this.closed) return;
      const release = holdYoungGeneration();
      try {
        await this.readTagsOf(index, full);
      } finally {
        release();
      }
    })();
  }

  /** The tag pass itself (see startTagPass). */
  private async readTagsOf(index: LibraryIndex, full: boolean): Promise<void> {
    // The database says which files lack tags for their current stat: after a restart,
    // only those changed, added, or left unread by a crash.
    // One flag per file of the snapshot, and each entry made only when its turn comes:
    // a first pass over 100,000 files holds no list of them (objects or paths) meanwhile.
    const files = index.files;
    const todo = full ? undefined : this.untaggedPositions(files);
    const count = todo ? todo.count : files.length;
    const started = performance.now();
    let next = 0;
    // A batch at a time, handed to the store as it comes back (which writes 500 files to a
    // transaction): per file, no promise, no lookup of tags the database has just said it
    // lacks, and little held past its batch (what is held longer is promoted and grows the
    // old generation). An INFO of a file in flight may read it a second time: same tags.
    const lane = async (): Promise<void> => {
      for (;;) {
        // Tags wait while a scan runs: both compete for the disk and the event loop, and
        // the scan is what keeps the listing true.
        while (this.scanning) await this.scanning.catch(() => undefined);
        if (this.closed) return;
        const batch: LibraryEntry[] = [];
        while (batch.length < TAG_BATCH_FILES && next < files.length) {
          if (!todo || todo.flags[next] === 1) batch.push(files.at(next)!);
          next++;
        }
        if (batch.length === 0) return;
        this.tagFilesRead += batch.length;
        const tags = await this.tagWorkers.readMany(this.realRoot, batch.map((entry) => entry.path));
        // Read after the library closed: possibly cut short, so nothing is kept.
        if (this.closed) return;
        // Not opened (a link out of the library, gone) is `undefined`: nothing is kept,
        // so nothing from outside can stay in the listing, and the next pass tries again.
        this.store.putTagsBatch(batch, tags);
      }
    };
    await Promise.all(Array.from({ length: Math.min(TAG_BATCHES_IN_FLIGHT, Math.ceil(count / TAG_BATCH_FILES)) }, lane));
    if (this.closed) return;
    this.store.flushTags();
    // Albums and artists go only once every file's tags are known again, so one whose
    // files were merely touched keeps its id.
    if (this.current === index) this.store.dropOrphans();
    const long = count >= (this.options.longTagPassFiles ?? LONG_TAG_PASS);
    if (long) {
      this.tagWorkers.stopIfIdle();
      collectGarbageNow(); // the rows it wrote (full-collection.ts)
    }
    if (count > 0) this.options.onTagPassEnd?.({ files: count, ms: performance.now() - started });
    // The listing, made ready while nobody waits for it (after the pass's end is reported).
    if (long && this.current === index) setImmediate(() => this.closed || this.current !== index || this.store.prepareListing(index.files));
  }

  /** Which files of `files` the database has no tags for under their stat: a flag per position. */
  private untaggedPositions(files: EntrySequence): { flags: Uint8Array; count: number } {
    const flags = new Uint8Array(files.length);
    let count = 0;
    let byPath: Map<string, number> | undefined;
    // The rows come in id order, which after a first start is the snapshot's order: the
    // position after the last one found is tried before a search.
    let guess = 0;
    for (const path of this.store.untaggedPathsIterator()) {
      let i: number;
      if (files instanceof PackedEntries) {
        i = guess < files.length && files.path(guess) === path ? guess : files.indexOf(path);
        if (i !== -1) guess = i + 1;
      } else {
        byPath ??= new Map(Array.from({ length: files.length }, (_, k) => [files.at(k)!.path, k]));
        i = byPath.get(path) ?? -1;
      }
      if (i !== -1 && flags[i] === 0) {
        flags[i] = 1;
        count++;
      }
    }
    return { flags, count };
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
    if (this.pendingReconcile) {
      // Asked for before the reconciling scan began: that scan is this one.
      this.pendingReconcile();
      if (this.scanning) return this.scanning;
    }
    if (this.scanning) {
      // A change seen during a scan may have been missed by it: scan once more after.
      this.rescanAgain = true;
      return this.scanning;
    }
    const full = this.fullScanPending;
    this.fullScanPending = false;
    this.scanning = (async () => {
      const release = holdYoungGeneration();
      try {
        const started = performance.now();
        this.options.onScanStart?.({ full });
        const directories = new Map<string, string>();
        const scanOptions = { onDirectory: (dir: string, stats: Stats) => directories.set(dir, directoryIdentity(stats)), ...(this.options.onSkip ? { onSkip: this.options.onSkip } : {}) };
        const before = this.current.files;
        const next = new LibraryIndex(await scanLibraryPacked(this.root, scanOptions, before instanceof PackedEntries ? before : undefined));
        this.watchDirectories(directories);
        const previous = this.current;
        // The database holds what `previous` shows: an unchanged scan has nothing to write.
        const unchanged = next.sameAs(previous);
        const counts = unchanged ? { files: next.size, added: 0, changed: 0, renamed: 0, removed: 0 } : this.store.reconcile(this.realRoot, next.files);
        if (full) {
          this.store.clearHashes();
          this.hashes.forgetLoose();
        }
        this.options.onScanEnd?.({ ...counts, full, ms: performance.now() - started });
        if (unchanged) {
          if (full) this.startTagPass(true);
          return previous; // keep the cached LIST reply
        }
        this.current = next;
        previous.close(); // a LIST being sent from it finishes first
        this.startTagPass(full);
        this.options.onChange?.(next, previous);
        return next;
      } finally {
        release();
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
    this.pendingReconcile?.();
    void this.tagWorkers.close();
    // The database stays open: its owner closes it (an in-memory one goes with the library
    // object), and a closed library still answers from it.
    this.store.close();
    // The files table holds what `current` shows (a scan swaps it in only after reconciling
    // it): the next start reads it back whole instead of row by row.
    if (this.current.files instanceof PackedEntries) this.store.saveSnapshot(this.current.files);
    this.current.close();
    this.watcher?.close();
  }
}
