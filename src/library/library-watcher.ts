import { watch, type FSWatcher, type Stats } from 'node:fs';
import path from 'node:path';

export interface LibraryWatcherOptions {
  /** Rescan this long after the last change seen. */
  debounceMs: number;
  /**
   * ...but never later than this after the first change of a burst: a file appended to
   * every 0.2 s would otherwise postpone the rescan for as long as it grows.
   */
  maxDelayMs: number;
  /** A rescan is due. */
  onChange: () => void;
  /** Watching failed (the inotify limit, say) and has stopped; called once. */
  onError: (err: unknown) => void;
}

/**
 * What tells one folder from another made later at the same path: device, inode and birth
 * time (a folder made again at once often gets the old inode number back).
 */
export function directoryIdentity(stats: Pick<Stats, 'dev' | 'ino' | 'birthtimeMs'>): string {
  return `${stats.dev}:${stats.ino}:${stats.birthtimeMs}`;
}

/** The default longest wait from a change to its rescan, however busy the directory. */
export const DEFAULT_WATCH_MAX_DELAY_MS = 2_000;

/**
 * Watches each directory of the library (not each file: a recursive watch on Linux puts
 * a watch on every file, which for 100,000 files costs seconds and hundreds of MB) and
 * calls for a rescan a little after changes. {@link update} is called after every scan with
 * the directories it walked and their {@link directoryIdentity}: new folders are watched,
 * removed ones let go, and a folder removed and made again under the same name (the old
 * watch died with the old folder) is watched afresh. The root's parent is watched for the
 * root's own name, so a library folder removed and recreated is noticed too.
 */
export class LibraryWatcher {
  private readonly root: string;
  private readonly options: LibraryWatcherOptions;
  private readonly watchers = new Map<string, { watcher: FSWatcher; identity: string }>();
  private parentWatcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  /** When the first change of the burst now waiting for its rescan was seen. */
  private firstChangeAt: number | undefined;
  private failed = false;
  private closed = false;

  constructor(root: string, options: LibraryWatcherOptions) {
    this.root = path.resolve(root);
    this.options = options;
    this.watchParent();
  }

  /** Watches exactly `directories` (absolute path → identity) from now on. */
  update(directories: ReadonlyMap<string, string>): void {
    if (this.failed || this.closed) return;
    for (const [dir, watched] of this.watchers) {
      if (directories.get(dir) !== watched.identity) {
        watched.watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const [dir, identity] of directories) {
      if (this.watchers.has(dir)) continue;
      try {
        const name = path.basename(dir);
        const watcher = watch(dir, { persistent: false }, (_event, filename) => {
          // The folder itself went (inotify names it by its own name): its watch is dead, so
          // let it go and the next scan watches whatever folder has that name then.
          if (filename !== null && filename.toString() === name) this.forget(dir, watcher);
          this.changed();
        });
        // A watched directory that goes away reports an error here; the rescan it
        // triggers lets it go.
        watcher.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'EPERM' ? this.changed() : this.fail(err)));
        this.watchers.set(dir, { watcher, identity });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES') continue; // gone or unreadable since the scan
        this.fail(err);
        return;
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    this.parentWatcher?.close();
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  private forget(dir: string, watcher: FSWatcher): void {
    if (this.watchers.get(dir)?.watcher !== watcher) return;
    watcher.close();
    this.watchers.delete(dir);
  }

  private changed(): void {
    if (this.closed) return;
    const now = Date.now();
    this.firstChangeAt ??= now;
    clearTimeout(this.debounce);
    const wait = Math.max(0, Math.min(this.options.debounceMs, this.firstChangeAt + this.options.maxDelayMs - now));
    this.debounce = setTimeout(() => {
      this.firstChangeAt = undefined;
      this.options.onChange();
    }, wait);
    this.debounce.unref();
  }

  /**
   * The root's parent, for events naming the root: its removal and its return. Best effort:
   * a parent that cannot be watched leaves this to the periodic rescan.
   */
  private watchParent(): void {
    const parent = path.dirname(this.root);
    if (parent === this.root) return;
    const name = path.basename(this.root);
    try {
      this.parentWatcher = watch(parent, { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === name) this.changed();
      });
      this.parentWatcher.on('error', () => {
        this.parentWatcher?.close();
        this.parentWatcher = undefined;
      });
    } catch {
      // unwatchable parent: the periodic rescan still notices
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.options.onError(err);
  }
}
