import { promises as fsp, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { isAudioFileName } from './audio-extensions.js';

/** One servable file. */
export interface LibraryEntry {
  /** Relative to the library root, `/`-separated, no leading `/`. */
  readonly path: string;
  readonly absolutePath: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface ScanOptions {
  /** Called once for each thing skipped, with its relative path and why. */
  onSkip?: (relativePath: string, reason: string) => void;
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
  const onSkip = options.onSkip ?? (() => {});
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const realRoot = await fsp.realpath(root);
  const entries: LibraryEntry[] = [];
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

    let dirents: Dirent<Buffer>[];
    try {
      dirents = await fsp.readdir(dirAbs, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      onSkip(dirRel || '.', `cannot read directory (${errorCode(err)})`);
      return;
    }

    const subdirs: [string, string][] = [];
    const work = dirents.map((dirent) => async () => {
      const name = dirent.name.toString('utf8');
      const rel = dirRel ? `${dirRel}/${name}` : name;
      // A name that is not valid UTF-8 cannot be written on the wire faithfully, and the
      // client could not ask for it back: skip it rather than serve a mangled path.
      if (!Buffer.from(name, 'utf8').equals(dirent.name)) {
        onSkip(rel, 'file name is not valid UTF-8');
        return;
      }
      // A LIST line ends at CR LF: a name holding either would split its line and make
      // clients refuse the whole listing.
      if (name.includes('\r') || name.includes('\n')) {
        onSkip(rel, 'file name contains a line break, which a LIST line cannot carry');
        return;
      }
      const abs = path.join(dirAbs, name);
      let isDir = dirent.isDirectory();
      let isFile = dirent.isFile();
      let stats: Stats | undefined;
      if (dirent.isSymbolicLink()) {
        let real: string;
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
        isDir = stats.isDirectory();
        isFile = stats.isFile();
      }
      if (isDir) {
        if (depth + 1 > maxDepth) onSkip(rel, `deeper than ${maxDepth} levels`);
        else subdirs.push([abs, rel]);
        return;
      }
      if (!isFile || !isAudioFileName(name)) return;
      try {
        stats ??= await fsp.stat(abs);
      } catch (err) {
        onSkip(rel, `cannot stat (${errorCode(err)})`);
        return;
      }
      entries.push({ path: rel, absolutePath: abs, size: stats.size, mtimeMs: stats.mtimeMs });
    });
    await runLimited(work, STAT_CONCURRENCY);
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
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return entries;
}

async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}
