import type { LibraryEntry } from './scan.js';

/**
 * A snapshot's files in order, read one at a time: an array of entries is one, and so is
 * PackedEntries. What a listing, a reconcile or a comparison needs, without asking for
 * 100,000 objects to exist at once.
 */
export interface EntrySequence {
  readonly length: number;
  at(i: number): LibraryEntry | undefined;
}

/** Numbers kept per file: size, mtime, ctime, inode, device (all exact in a double). */
const STATS_PER_FILE = 5;
/** Header of the persisted form: the file count and 4 spare bytes, then the stats, then the paths (see encode). */
const HEADER_BYTES = 8;
/** Most files a packed snapshot holds (the persisted form counts them in 32 bits). */
export const MAX_PACKED_FILES = 2 ** 31;

/**
 * A library snapshot as three flat pieces instead of one object per file: every path in one
 * string (joined by LF, which no listed name contains: the scan skips such names), their
 * offsets in a Uint32Array and the stats in a Float64Array. 100,000 files take about 13 MB
 * this way, against about 30 MB of heap as objects, and the whole is saved to and read from
 * the database as one value. Entries are made on demand and not kept.
 */
export class PackedEntries implements EntrySequence {
  readonly length: number;
  /** What absolutePath starts with: the library's resolved root and a `/`. */
  readonly prefix: string;
  private readonly paths: string;
  private readonly offsets: Uint32Array;
  private readonly stats: Float64Array;

  /** Made by `of`, `decode` or a PackedEntriesBuilder, which keep the pieces consistent. */
  constructor(prefix: string, paths: string, offsets: Uint32Array, stats: Float64Array) {
    this.prefix = prefix;
    this.paths = paths;
    this.offsets = offsets;
    this.stats = stats;
    this.length = offsets.length - 1;
  }

  /** Packs entries already sorted by path, all under `prefix`. */
  static of(prefix: string, entries: EntrySequence): PackedEntries {
    const builder = new PackedEntriesBuilder(prefix);
    for (let i = 0; i < entries.length; i++) builder.add(entries.at(i)!);
    return builder.finish();
  }

  /** The persisted form (encode()) back, or undefined when it is not one. */
  static decode(prefix: string, bytes: Uint8Array): PackedEntries | undefined {
    if (bytes.length < HEADER_BYTES) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(0, true);
    const statsEnd = HEADER_BYTES + count * STATS_PER_FILE * 8;
    if (statsEnd > bytes.length) return undefined;
    // A copy: the value SQLite hands over need not be 8-byte aligned.
    const stats = new Float64Array(count * STATS_PER_FILE);
    new Uint8Array(stats.buffer).set(bytes.subarray(HEADER_BYTES, statsEnd));
    const paths = Buffer.from(bytes.buffer, bytes.byteOffset + statsEnd, bytes.length - statsEnd).toString('utf8');
    const offsets = new Uint32Array(count + 1);
    let at = 0;
    for (let i = 0; i < count; i++) {
      offsets[i] = at;
      const end = paths.indexOf('\n', at);
      if (end === -1) return undefined;
      at = end + 1;
    }
    if (at !== paths.length) return undefined;
    offsets[count] = at;
    return new PackedEntries(prefix, paths, offsets, stats);
  }

  /** The persisted form in one buffer (see pieces). */
  encode(): Buffer {
    return Buffer.concat([...this.pieces()]);
  }

  /**
   * The persisted form in pieces, to be written one after the other: the count (and 4 spare
   * bytes), the stats, then the paths in UTF-8 about a megabyte at a time. Written this way
   * at a stop, 100,000 files cost a megabyte or so instead of two 10 MB copies.
   */
  *pieces(pathBytes = 1 << 20): Generator<Uint8Array> {
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(this.length, 0);
    yield header;
    yield new Uint8Array(this.stats.buffer, this.stats.byteOffset, this.stats.byteLength);
    // Cut after a LF, so that no character is split between two pieces.
    for (let from = 0; from < this.paths.length; ) {
      let to = Math.min(this.paths.length, from + pathBytes);
      if (to < this.paths.length) to = this.paths.indexOf('\n', to - 1) + 1 || this.paths.length;
      yield Buffer.from(this.paths.slice(from, to), 'utf8');
      from = to;
    }
  }

  path(i: number): string {
    // The offsets point past each LF, so the one before the next start is dropped.
    return this.paths.slice(this.offsets[i]!, this.offsets[i + 1]! - 1);
  }

  size(i: number): number {
    return this.stats[i * STATS_PER_FILE]!;
  }

  at(i: number): LibraryEntry | undefined {
    if (i < 0) i += this.length;
    if (!(i >= 0 && i < this.length)) return undefined;
    const s = this.stats;
    const k = i * STATS_PER_FILE;
    const path = this.path(i);
    return { path, absolutePath: this.prefix + path, size: s[k]!, mtimeMs: s[k + 1]!, ctimeMs: s[k + 2]!, ino: s[k + 3]!, dev: s[k + 4]! };
  }

  /** File `i`'s size, mtime, ctime, inode and device, in that order (the database's column order), with no entry made. */
  statAt(i: number): [size: number, mtimeMs: number, ctimeMs: number, ino: number, dev: number] {
    const s = this.stats;
    const k = i * STATS_PER_FILE;
    return [s[k]!, s[k + 1]!, s[k + 2]!, s[k + 3]!, s[k + 4]!];
  }

  /** True when file `i` has exactly this stat. */
  sameStatAt(i: number, stat: Pick<LibraryEntry, 'size' | 'mtimeMs' | 'ctimeMs' | 'ino' | 'dev'>): boolean {
    const s = this.stats;
    const k = i * STATS_PER_FILE;
    return s[k] === stat.size && s[k + 1] === stat.mtimeMs && s[k + 2] === stat.ctimeMs && s[k + 3] === stat.ino && s[k + 4] === stat.dev;
  }

  /** Each entry in order, made as it is reached. */
  *[Symbol.iterator](): Generator<LibraryEntry> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  /** The position of `path` (binary search: paths are sorted), or -1. */
  indexOf(path: string): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.path(mid);
      if (p === path) return mid;
      if (p < path) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** True when both hold the same files under the same root with the same stats. */
  sameAs(other: PackedEntries): boolean {
    if (other.length !== this.length || other.prefix !== this.prefix || other.paths !== this.paths) return false;
    const a = this.stats;
    const b = other.stats;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}

/** Builds a PackedEntries from entries given in path order (what a scan or the database yields). */
export class PackedEntriesBuilder {
  private readonly prefix: string;
  private readonly parts: string[] = [];
  private stats = new Float64Array(1024 * STATS_PER_FILE);
  private count = 0;
  private sorted = true;
  private last: string | undefined;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  add(entry: Pick<LibraryEntry, 'path' | 'size' | 'mtimeMs' | 'ctimeMs' | 'ino' | 'dev'>): void {
    if (this.count >= MAX_PACKED_FILES) throw new RangeError(`more than ${MAX_PACKED_FILES} files in one snapshot`);
    if (this.last !== undefined && !(this.last < entry.path)) this.sorted = false;
    this.last = entry.path;
    if ((this.count + 1) * STATS_PER_FILE > this.stats.length) {
      const grown = new Float64Array(this.stats.length * 2);
      grown.set(this.stats);
      this.stats = grown;
    }
    const k = this.count * STATS_PER_FILE;
    this.stats[k] = entry.size;
    this.stats[k + 1] = entry.mtimeMs;
    this.stats[k + 2] = entry.ctimeMs;
    this.stats[k + 3] = entry.ino;
    this.stats[k + 4] = entry.dev;
    this.parts.push(entry.path);
    this.count++;
  }

  /** The snapshot, sorted by path in code-unit order (sorted here if the input was not). */
  finish(): PackedEntries {
    let order: Uint32Array | undefined;
    if (!this.sorted) {
      const parts = this.parts;
      order = Uint32Array.from({ length: this.count }, (_, i) => i).sort((x, y) => (parts[x]! < parts[y]! ? -1 : parts[x]! > parts[y]! ? 1 : 0));
    }
    const stats = new Float64Array(this.count * STATS_PER_FILE);
    const offsets = new Uint32Array(this.count + 1);
    // One more, empty, piece makes the join end in LF: a join followed by `+ '\n'` made a
    // second string of every path (8 MB for 100,000 files) when it was first read.
    const pieces: string[] = new Array(this.count + 1);
    pieces[this.count] = '';
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      const from = order ? order[i]! : i;
      const p = this.parts[from]!;
      pieces[i] = p;
      offsets[i] = at;
      at += p.length + 1;
      stats.set(this.stats.subarray(from * STATS_PER_FILE, (from + 1) * STATS_PER_FILE), i * STATS_PER_FILE);
    }
    offsets[this.count] = at;
    const paths = this.count === 0 ? '' : pieces.join('\n');
    return new PackedEntries(this.prefix, paths, offsets, stats);
  }
}
