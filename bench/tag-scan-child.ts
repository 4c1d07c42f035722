/**
 * Scenario 7's measurement, in a fresh process: `node tag-scan-child.js ROOT` opens the
 * library at ROOT as as-server does (tags read in a background pass after the scan), waits
 * for the tag pass, checks what it read, then rescans twice: the library unchanged, and
 * with one file touched. Prints one JSON object (TagScanChildResult).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Library } from '../src/library/index.js';

export interface TagScanRescan {
  ms: number;
  /** Whether the rescan swapped in a new snapshot (which starts a tag pass). */
  changed: boolean;
  /** From the rescan's end until tagsSettled() resolved. */
  settleMs: number;
  /** Files whose tags were read meanwhile (Library.tagFilesRead): reads that missed the cache. */
  opened: number;
}

export interface TagScanChildResult {
  files: number;
  openMs: number;
  /** From Library.open's return until tagsSettled() resolved. */
  tagPassMs: number;
  /** Files whose tags the first pass read (Library.tagFilesRead). */
  opened: number;
  /** Per extension: how many files, how many of them got any tags, and how many got all of title, artist, album and track. */
  byExtension: Record<string, { files: number; read: number; complete: number }>;
  /** Every distinct title read: one per source file the library was copied from. */
  titles: string[];
  cacheSize: number;
  unchanged: TagScanRescan;
  touched: TagScanRescan;
  rssAfterOpenBytes: number;
  rssAfterTagsBytes: number;
  /** The kernel's peak RSS of this process (getrusage), exact rather than sampled. */
  maxRssBytes: number;
}

const root = path.resolve(process.argv[2]!);

let started = performance.now();
// No periodic rescan and no directory watch: the rescans measured here are the only ones.
const library = await Library.open(root, { rescanIntervalMs: 0, watchDebounceMs: 0 });
const openMs = performance.now() - started;
const rssAfterOpenBytes = process.memoryUsage.rss();
started = performance.now();
await library.tagsSettled();
const tagPassMs = performance.now() - started;
const passOpened = library.tagFilesRead;
const rssAfterTagsBytes = process.memoryUsage.rss();

const byExtension: TagScanChildResult['byExtension'] = {};
const titles = new Set<string>();
for (const entry of library.current.entries) {
  const tags = library.tags.get(entry);
  const counts = (byExtension[path.extname(entry.path)] ??= { files: 0, read: 0, complete: 0 });
  counts.files++;
  if (tags && Object.keys(tags).length > 0) counts.read++;
  if (tags?.title && tags.artist && tags.album && tags.track) counts.complete++;
  if (tags?.title) titles.add(tags.title);
}
const cacheSize = library.store.counts().tagged;

const rescan = async (): Promise<TagScanRescan> => {
  const before = library.current;
  const openedBefore = library.tagFilesRead;
  const t0 = performance.now();
  const after = await library.rescan();
  const ms = performance.now() - t0;
  const t1 = performance.now();
  await library.tagsSettled();
  return { ms, changed: after !== before, settleMs: performance.now() - t1, opened: library.tagFilesRead - openedBefore };
};
const unchanged = await rescan();
// A new modification time gives the file a new identity: the next pass must read it, and only it.
const first = library.current.entries[0]!;
const later = new Date(first.mtimeMs + 60_000);
fs.utimesSync(first.absolutePath, later, later);
const touched = await rescan();
library.close();

const result: TagScanChildResult = {
  files: library.current.entries.length,
  openMs,
  tagPassMs,
  opened: passOpened,
  byExtension,
  titles: [...titles].sort(),
  cacheSize,
  unchanged,
  touched,
  rssAfterOpenBytes,
  rssAfterTagsBytes,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
};
process.stdout.write(JSON.stringify(result));
process.exit(0); // also writes the --cpu-prof profile, if any
