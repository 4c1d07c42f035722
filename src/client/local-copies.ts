import { promises as fsp } from 'node:fs';
import { isAudioStreamError } from '../protocol/index.js';
import type { RemoteEntry } from './client-connection.js';
import type { Downloader } from './downloader.js';
import type { LocalLibrary } from './local-library.js';

/** Failures that mean "the server cannot be asked now", not "the copy is bad". */
/** The codes that mean the server cannot be reached (down, or the network is). */
export const UNREACHABLE: ReadonlySet<string> = new Set(['CONNECTION_REFUSED', 'CONNECTION_FAILED', 'CONNECTION_CLOSED', 'TIMEOUT']);

/** How a local copy was judged fit to play. */
export type LocalCopyVerdict =
  /** Matches the server's SHA-256 (now, or earlier in this session and unchanged since). */
  | 'verified'
  /** A v1 server has no hashes; a file at its final name is only ever a complete one. */
  | 'unverified'
  /** The server cannot be reached: the copy plays as saved (complete, not checked again). */
  | 'offline';

/**
 * Which saved files may be played (or streamed) from the local library instead of the
 * server: the ones intact by the server's hash. What was verified is remembered for the
 * session by size and modification time, so a second `play` does not hash the file again,
 * and so that a saved file still plays when the server is down.
 */
export class LocalCopies {
  private readonly verified = new Map<string, { size: number; mtimeMs: number }>();

  constructor(private readonly library: LocalLibrary) {}

  /** `entry` has just been saved or found intact: remember its copy as verified. */
  async remember(entry: RemoteEntry): Promise<void> {
    const path = this.pathFor(entry);
    const stats = path ? await fsp.stat(path).catch(() => undefined) : undefined;
    if (path && stats?.isFile()) this.verified.set(path, { size: stats.size, mtimeMs: stats.mtimeMs });
  }

  /**
   * The local path to play `entry` from, and why it is trusted; undefined when the server's
   * bytes are needed (no copy, a partial one, or one that differs from the server).
   * `downloader` asks the server for the hash, on whichever connection is free.
   */
  async usable(entry: RemoteEntry, downloader: Downloader, signal?: AbortSignal): Promise<{ path: string; verdict: LocalCopyVerdict } | undefined> {
    const path = this.pathFor(entry);
    if (!path) return undefined;
    const stats = await fsp.stat(path).catch(() => undefined);
    if (!stats?.isFile()) return undefined;
    const known = this.verified.get(path);
    if (known && known.size === stats.size && known.mtimeMs === stats.mtimeMs) return { path, verdict: 'verified' };
    try {
      const state = await downloader.localState(entry, signal);
      if (state.kind === 'ok') {
        this.verified.set(path, { size: stats.size, mtimeMs: stats.mtimeMs });
        return { path, verdict: 'verified' };
      }
      return state.kind === 'unverified' ? { path, verdict: 'unverified' } : undefined;
    } catch (err) {
      if (isAudioStreamError(err) && UNREACHABLE.has(err.code)) {
        // Offline: the listing's size, when known, still rules out a copy from another version.
        if (entry.size !== undefined && entry.size !== stats.size) return undefined;
        return { path, verdict: 'offline' };
      }
      throw err;
    }
  }

  private pathFor(entry: RemoteEntry): string | undefined {
    try {
      return this.library.finalPathFor(entry.path);
    } catch {
      return undefined; // a name we would never save has no local copy
    }
  }
}
