import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { RemoteEntry } from './client-connection.js';

/** A saved listing larger than this is not written (nor read): 64 MiB holds ~200,000 files with tags. */
const MAX_LISTING_BYTES = 64 * 1024 * 1024;
/** Listings of this many servers are kept; the least recently saved go first. */
const MAX_SERVERS = 16;

/** The last listing seen from one server, as saved. */
export interface SavedListing {
  /** `host:port` as the connection names it. */
  target: string;
  /** When it was fetched (ms since the epoch). */
  savedAt: number;
  entries: RemoteEntry[];
}

/**
 * The last listing the client saw from each server, kept in the XDG cache directory
 * (`$XDG_CACHE_HOME/audiostream/listings/`, folder 0700, files 0600) so that `play N`, `ls`
 * and `list` still work with the server down on a fresh start (playing saved copies).
 *
 * Invalidation: every listing fetched from a server replaces its saved one, and a saved one
 * is only ever used when that server cannot be reached (the shell says how old it is). At
 * most MAX_SERVERS listings are kept (the oldest saved are removed) and one larger than
 * MAX_LISTING_BYTES is not kept. A file that is unreadable or not what we wrote is ignored.
 */
export class ListingCache {
  constructor(private readonly dir: string) {}

  private fileFor(target: string): string {
    // Hashed: a host name may hold characters a file name cannot.
    return path.join(this.dir, `${createHash('sha256').update(target).digest('hex').slice(0, 32)}.json`);
  }

  async save(target: string, entries: RemoteEntry[], now = Date.now()): Promise<void> {
    const text = JSON.stringify({ target, savedAt: now, entries } satisfies SavedListing);
    if (Buffer.byteLength(text) > MAX_LISTING_BYTES) return;
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileFor(target);
    const temp = `${file}.${process.pid}.tmp`;
    await fsp.writeFile(temp, text, { mode: 0o600 });
    await fsp.rename(temp, file);
    await this.prune();
  }

  async load(target: string): Promise<SavedListing | undefined> {
    const file = this.fileFor(target);
    try {
      const stats = await fsp.stat(file);
      if (!stats.isFile() || stats.size > MAX_LISTING_BYTES) return undefined;
      const saved = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<SavedListing>;
      if (saved.target !== target || typeof saved.savedAt !== 'number' || !Array.isArray(saved.entries)) return undefined;
      const entries = saved.entries.filter((e): e is RemoteEntry => typeof e?.index === 'number' && Number.isInteger(e.index) && e.index >= 0 && typeof e.path === 'string');
      if (entries.length !== saved.entries.length) return undefined;
      return { target, savedAt: saved.savedAt, entries };
    } catch {
      return undefined;
    }
  }

  private async prune(): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => /^[0-9a-f]{32}\.json$/.test(n));
    if (names.length <= MAX_SERVERS) return;
    const dated = await Promise.all(names.map(async (n) => ({ n, t: (await fsp.stat(path.join(this.dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
    dated.sort((a, b) => b.t - a.t);
    for (const { n } of dated.slice(MAX_SERVERS)) await fsp.rm(path.join(this.dir, n), { force: true });
  }
}
