import { MAX_V1_SIZE, encodeListResponse } from '../protocol/index.js';
import { ListingSpill } from './listing-spill.js';
import { PackedEntries, type EntrySequence } from './packed-entries.js';
import type { SavedListing } from './saved-snapshot.js';
import type { LibraryEntry } from './scan.js';
import { holdYoungGeneration } from './young-generation.js';

/** Snapshots of at least this many files keep their v1 LIST reply in a file (v1ListPieces). */
const V1_LIST_SPILL_FILES = 10_000;
/** Lines encoded at a time for that file. */
const V1_LIST_BATCH = 1000;

/**
 * An immutable snapshot of the library, as one scan saw it. A rescan builds a new
 * LibraryIndex and swaps it in; a request that already holds an entry keeps it.
 *
 * The files are held packed (packed-entries.ts) when the snapshot came from a scan or the
 * database; `entries`, an array of objects, is made only when something asks for it (a
 * folder view, a test), so a server that only lists and streams never holds 100,000 of them.
 */
export class LibraryIndex {
  /** The files in path order, one at a time (packed, or the array given). */
  readonly files: EntrySequence;
  readonly scannedAt: Date;
  private entriesCache: readonly LibraryEntry[] | undefined;
  private v1EntriesCache: readonly LibraryEntry[] | undefined;
  /** Positions in `files` of the files v1 can describe; undefined while that is all of them. */
  private readonly v1Positions: Uint32Array | undefined;
  private v1ListReplyCache: Buffer | undefined;
  /** The v1 LIST reply of a large snapshot, kept in a file instead (v1ListPieces). */
  private v1ListFile: SavedListing | undefined;
  private closed = false;
  private byPathCache: Map<string, LibraryEntry> | undefined;

  constructor(files: readonly LibraryEntry[] | PackedEntries, scannedAt = new Date()) {
    this.files = files;
    if (Array.isArray(files)) this.entriesCache = files;
    this.scannedAt = scannedAt;
    // v1 sizes are 32-bit: a file of 4 GiB or more is left out of the v1 view.
    const positions: number[] = [];
    let all = true;
    for (let i = 0; i < files.length; i++) {
      if (this.sizeAt(i) <= MAX_V1_SIZE) {
        if (!all) positions.push(i);
      } else if (all) {
        all = false;
        for (let k = 0; k < i; k++) positions.push(k);
      }
    }
    this.v1Positions = all ? undefined : Uint32Array.from(positions);
  }

  /** How many files. */
  get size(): number {
    return this.files.length;
  }

  /** Every file, sorted by path, as objects (made once, on first use). */
  get entries(): readonly LibraryEntry[] {
    if (!this.entriesCache) {
      const out: LibraryEntry[] = new Array(this.files.length);
      for (let i = 0; i < out.length; i++) out[i] = this.files.at(i)!;
      this.entriesCache = out;
    }
    return this.entriesCache;
  }

  /**
   * The files protocol v1 can describe: v1 sizes are 32-bit, so a file of 4 GiB or more
   * is left out of the v1 view rather than announced with a wrong size. v1 indexes are
   * positions in this list (see v1Entry and v1Count, which need no array).
   */
  get v1Entries(): readonly LibraryEntry[] {
    this.v1EntriesCache ??= this.v1Positions ? Array.from(this.v1Positions, (i) => this.files.at(i)!) : this.entries;
    return this.v1EntriesCache;
  }

  /** How many files v1 lists. */
  get v1Count(): number {
    return this.v1Positions ? this.v1Positions.length : this.files.length;
  }

  /** The file at v1 index `i`, if there is one. */
  v1Entry(i: number): LibraryEntry | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.v1Count) return undefined;
    return this.files.at(this.v1Positions ? this.v1Positions[i]! : i);
  }

  /** The entry at a relative path (v2 addresses files by path, which a rescan does not shift). */
  byPath(path: string): LibraryEntry | undefined {
    const files = this.files;
    if (files instanceof PackedEntries) {
      const i = files.indexOf(path);
      return i === -1 ? undefined : files.at(i);
    }
    this.byPathCache ??= new Map(this.entries.map((e) => [e.path, e]));
    return this.byPathCache.get(path);
  }

  /** The whole v1 LIST reply, encoded once per snapshot and shared by every request. */
  v1ListReply(): Buffer {
    if (!this.v1ListReplyCache) {
      // 100,000 paths made at once would grow the young generation for good (young-generation.ts).
      const release = holdYoungGeneration();
      try {
        const paths: string[] = new Array(this.v1Count);
        for (let i = 0; i < paths.length; i++) paths[i] = this.v1Entry(i)!.path;
        this.v1ListReplyCache = encodeListResponse(paths);
      } finally {
        release();
      }
    }
    return this.v1ListReplyCache;
  }

  /**
   * The whole v1 LIST reply in pieces, for sending. That of a large snapshot is written once
   * to an unlinked file in `spillDirectory` (listing-spill.ts) and sent from it through
   * memory that is reused once `mayReuse()` says the last piece is out: 100,000 paths make a
   * 9 MB reply that was otherwise held for as long as the snapshot lasts.
   */
  *v1ListPieces(spillDirectory: string | undefined, mayReuse: () => boolean = () => false): Generator<Buffer> {
    if (!this.v1ListReplyCache && !this.v1ListFile && !this.closed && spillDirectory !== undefined && this.v1Count >= V1_LIST_SPILL_FILES) {
      const spill = ListingSpill.open(spillDirectory);
      if (spill) {
        const release = holdYoungGeneration();
        try {
          for (const piece of this.v1ListBatches()) spill.add(piece);
        } finally {
          release();
        }
        this.v1ListFile = spill.finish();
      }
    }
    if (this.v1ListFile) yield* this.v1ListFile.pieces(mayReuse);
    else yield this.v1ListReply();
  }

  /** Lets go of what this snapshot keeps outside the heap (once replies being sent are done). */
  close(): void {
    this.closed = true; // a later LIST of this snapshot is built in memory, not in a file again
    this.v1ListFile?.close();
    this.v1ListFile = undefined;
  }

  /** The v1 LIST reply a thousand lines a piece, highest index first (as encodeListResponse). */
  private *v1ListBatches(): Generator<Buffer> {
    for (let hi = this.v1Count; hi > 0; hi -= V1_LIST_BATCH) {
      const lo = Math.max(0, hi - V1_LIST_BATCH);
      const paths: string[] = new Array(hi - lo);
      for (let i = lo; i < hi; i++) paths[i - lo] = this.v1Entry(i)!.path;
      yield encodeListResponse(paths, lo);
    }
  }

  /** True when both snapshots list the same files with the same stat (size, times, inode, device). */
  sameAs(other: LibraryIndex): boolean {
    const a = this.files;
    const b = other.files;
    if (a instanceof PackedEntries && b instanceof PackedEntries) return a.sameAs(b);
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const e = a.at(i)!;
      const o = b.at(i)!;
      const same = e.path === o.path && e.size === o.size && e.mtimeMs === o.mtimeMs && e.ctimeMs === o.ctimeMs && e.ino === o.ino && e.dev === o.dev && e.absolutePath === o.absolutePath;
      if (!same) return false;
    }
    return true;
  }

  private sizeAt(i: number): number {
    const files = this.files;
    return files instanceof PackedEntries ? files.size(i) : files.at(i)!.size;
  }
}
