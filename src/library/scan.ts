import fs, { promises as fsp, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { isAudioFileName } from './audio-extensions.js';
import { PackedEntriesBuilder, type PackedEntries } from './packed-entries.js';

/** One servable file. */
export interface LibraryEntry {
  /** Relative to the library root, `/`-separated, no leading `/`. */
  readonly path: string;
  readonly absolutePath: string;
  readonly size: number;
  readonly mtimeMs: number;
  /**
   * Status-change time, inode and device: with size and mtime, what says a file is unchanged
   * (a rewrite that restores size and mtime still moves ctime; a rename keeps the inode).
   */
  readonly ctimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

export interface ScanOptions {
  /** Called once for each thing skipped, with its relative path and why. */
  onSkip?: (relativePath: string, reason: string) => void;
  /** Called with each directory walked and its stat() (the library watches them for changes). */
  onDirectory?: (absolutePath: string, stats: Stats) => void;
  /** Deeper directories are skipped (a guard against pathological trees). */
  maxDepth?: number;
}

/** How many directory entries are stat'ed at once. */
const STAT_CONCURRENCY = 64;
const DEFAULT_MAX_DEPTH = 64;

/**
 * Walks `root` recursively and returns its audio files sorted by path (plain code-unit
 * order, independent of locale), so that an unchanged library always yields the same
 * indexes. Never follows a link out of the library, never loops, and skips (with one
 * `onSkip` call each) what cannot be read or named.
 */
export async function scanLibrary(root: string, options: ScanOptions = {}): Promise<LibraryEntry[]> {
  const entries: LibraryEntry[] = [];
  await walkLibrary(root, options, (rel, abs, stats) => entries.push(entryOf(rel, abs, stats)));
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return entries;
}

/**
 * scanLibrary's walk, its result packed (packed-entries.ts). Given the `previous` snapshot,
 * each file found is compared with it as it comes, and while every one matches nothing is
 * kept: an unchanged library gives `previous` itself back, having held no second snapshot
 * (100,000 files: about 30 MB of entries before, or 13 MB packed). The first difference
 * starts a new snapshot, seeded with the files matched so far.
 */
export async function scanLibraryPacked(root: string, options: ScanOptions = {}, previous?: PackedEntries): Promise<PackedEntries> {
  let prefix = '';
  let builder: PackedEntriesBuilder | undefined;
  const seen = previous ? new Uint8Array(previous.length) : undefined;
  let matched = 0;
  const diverge = (): PackedEntriesBuilder => {
    builder = new PackedEntriesBuilder(prefix);
    if (previous && seen) for (let i = 0; i < previous.length; i++) if (seen[i] === 1) builder.add(previous.at(i)!);
    return builder;
  };
  await walkLibrary(
    root,
    options,
    (rel, _abs, stats) => {
      if (!builder) {
        const i = previous!.indexOf(rel);
        if (i !== -1 && seen![i] === 0 && previous!.sameStatAt(i, stats)) {
          seen![i] = 1;
          matched++;
          return;
        }
        diverge();
      }
      builder!.add({ path: rel, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino, dev: stats.dev });
    },
    (real) => {
      prefix = real.endsWith(path.sep) ? real : real + path.sep;
      if (!previous || previous.prefix !== prefix) builder = new PackedEntriesBuilder(prefix);
    },
  );
  if (!builder && matched === previous!.length) return previous!;
  return (builder ?? diverge()).finish(); // without `builder`: files vanished, none changed or came
}

/** Walks the library, calling `onFile` for each audio file found (in no particular order); resolves to the resolved root. */
async function walkLibrary(
  root: string,
  options: ScanOptions,
  onFile: (rel: string, abs: string, stats: Stats) => void,
  onStart?: (realRoot: string) => void,
): Promise<string> {
  const onSkip = options.onSkip ?? (() => {});
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const realRoot = await fsp.realpath(root);
  onStart?.(realRoot);
  const visitedDirs = new Set<string>();

  const insideRoot = (real: string): boolean => real === realRoot || real.startsWith(realRoot + path.sep);

  async function walk(dirAbs: string, dirRel: string, depth: number): Promise<void> {
    const dirStat = await fsp.stat(dirAbs);
    const key = `${dirStat.dev}:${dirStat.ino}`;
    if (visitedDirs.has(key)) {
      onSkip(dirRel, 'directory already visited (a link loop or a second link to it)');
      return;
    }
    visitedDirs.add(key);
    options.onDirectory?.(dirAbs, dirStat);

    let dirents: Dirent<Buffer>[];
    try {
      dirents = await fsp.readdir(dirAbs, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      onSkip(dirRel || '.', `cannot read directory (${errorCode(err)})`);
      return;
    }

    const subdirs: [string, string][] = [];
    const addSubdir = (abs: string, rel: string): void => {
      if (depth + 1 > maxDepth) onSkip(rel, `deeper than ${maxDepth} levels`);
      else subdirs.push([abs, rel]);
    };
    // Sorting the names out needs no I/O; plain audio files are then stat'ed in bulk, and
    // links (rare) take the slow path.
    const files: [string, string][] = [];
    const links: [string, string, string][] = [];
    for (const dirent of dirents) {
      const name = dirent.name.toString('utf8');
      const rel = dirRel ? `${dirRel}/${name}` : name;
      // A name that is not valid UTF-8 cannot be written on the wire faithfully, and the
      // client could not ask for it back: skip it rather than serve a mangled path.
      if (!Buffer.from(name, 'utf8').equals(dirent.name)) {
        onSkip(rel, 'file name is not valid UTF-8');
        continue;
      }
      // A LIST line ends at CR LF: a name holding either would split its line and make
      // clients refuse the whole listing.
      if (name.includes('\r') || name.includes('\n')) {
        onSkip(rel, 'file name contains a line break, which a LIST line cannot carry');
        continue;
      }
      const abs = path.join(dirAbs, name);
      if (dirent.isSymbolicLink()) links.push([abs, rel, name]);
      else if (dirent.isDirectory()) addSubdir(abs, rel);
      else if (dirent.isFile() && isAudioFileName(name)) files.push([abs, rel]);
    }
    await runLimited(
      links.map(([abs, rel, name]) => async () => {
        let real: string;
        let stats: Stats;
        try {
          real = await fsp.realpath(abs);
          stats = await fsp.stat(real);
        } catch (err) {
          onSkip(rel, `broken link (${errorCode(err)})`);
          return;
        }
        if (!insideRoot(real)) {
          onSkip(rel, 'link points outside the library');
          return;
        }
        if (stats.isDirectory()) addSubdir(abs, rel);
        else if (stats.isFile() && isAudioFileName(name)) onFile(rel, abs, stats);
      }),
      STAT_CONCURRENCY,
    );
    await statEach(
      files,
      STAT_CONCURRENCY,
      ([abs, rel], stats) => onFile(rel, abs, stats),
      ([, rel], err) => onSkip(rel, `cannot stat (${errorCode(err)})`),
    );
    // Stats finish in any order; walk subdirectories in name order so that which of two
    // links to one directory wins is the same on every scan.
    subdirs.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (const [abs, rel] of subdirs) {
      try {
        await walk(abs, rel, depth + 1);
      } catch (err) {
        onSkip(rel, `cannot read directory (${errorCode(err)})`);
      }
    }
  }

  await walk(realRoot, '', 0);
  return realRoot;
}

async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
}

/**
 * stat()s each file, `limit` at a time, with plain callbacks: one promise for the lot.
 * A promise and an async function per file (fs.promises.stat) made a 100,000-file scan
 * ~1.5× slower (median 1.16 s → 0.76 s; docs/BENCHMARKS.md, scenario 5).
 */
function statEach<T extends [string, ...unknown[]]>(
  files: readonly T[],
  limit: number,
  onStats: (file: T, stats: Stats) => void,
  onError: (file: T, err: NodeJS.ErrnoException) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let failure: unknown;
    const start = (): void => {
      const file = files[next++]!;
      fs.stat(file[0], (err, stats) => {
        try {
          if (err) onError(file, err);
          else onStats(file, stats);
        } catch (thrown) {
          failure ??= thrown; // a throwing onSkip: reported once every stat has come back
        }
        if (++done === files.length) {
          if (failure === undefined) resolve();
          else reject(failure);
        } else if (next < files.length) start();
      });
    };
    if (files.length === 0) resolve();
    for (let i = 0; i < Math.min(limit, files.length); i++) start();
  });
}

function entryOf(rel: string, abs: string, stats: Stats): LibraryEntry {
  return { path: rel, absolutePath: abs, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino, dev: stats.dev };
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}
