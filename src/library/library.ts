import { promises as fsp } from 'node:fs';
import { AudioStreamError } from '../protocol/index.js';
import { LibraryIndex } from './library-index.js';
import { scanLibrary } from './scan.js';

export interface LibraryOptions {
  /** Milliseconds between rescans; 0 turns periodic rescans off. */
  rescanIntervalMs?: number;
  onSkip?: (relativePath: string, reason: string) => void;
  /** Called after a rescan that changed something. */
  onChange?: (index: LibraryIndex, previous: LibraryIndex) => void;
  onScanError?: (err: unknown) => void;
}

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

  private constructor(root: string, index: LibraryIndex, options: LibraryOptions) {
    this.root = root;
    this.current = index;
    this.options = options;
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
    const scanOptions = options.onSkip ? { onSkip: options.onSkip } : {};
    const library = new Library(root, new LibraryIndex(await scanLibrary(root, scanOptions)), options);
    const interval = options.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    if (interval > 0) {
      library.timer = setInterval(() => {
        library.rescan().catch((err) => options.onScanError?.(err));
      }, interval);
      library.timer.unref();
    }
    return library;
  }

  /** Scans again and swaps the new snapshot in. Concurrent calls share one scan. */
  rescan(): Promise<LibraryIndex> {
    this.scanning ??= (async () => {
      try {
        const scanOptions = this.options.onSkip ? { onSkip: this.options.onSkip } : {};
        const next = new LibraryIndex(await scanLibrary(this.root, scanOptions));
        const previous = this.current;
        if (next.sameAs(previous)) return previous; // keep the cached LIST reply
        this.current = next;
        this.options.onChange?.(next, previous);
        return next;
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
