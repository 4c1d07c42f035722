import { promises as fsp } from 'node:fs';
import { AudioStreamError, isAudioStreamError } from '../protocol/index.js';
import type { ClientConnection, RemoteEntry } from './client-connection.js';
import { LocalLibrary } from './local-library.js';
import { saveFile, sha256OfLocalFile, type SaveOptions } from './transfer.js';

/** What the local library holds of a server file. */
export type LocalState =
  | { kind: 'ok' }
  | { kind: 'missing' }
  | { kind: 'partial'; bytes: number }
  | { kind: 'different' }
  /** Present, but there is no server hash to check it against (v1). */
  | { kind: 'unverified' };

export interface DownloadResult {
  outcome: 'saved' | 'already-saved';
  /** Bytes that were already there from an interrupted transfer. */
  resumedFrom: number;
  /** Bytes transferred now. */
  transferred: number;
}

export interface DownloadOptions extends Pick<SaveOptions, 'onFlushed' | 'onTemporaryFile'> {
  signal?: AbortSignal;
  /** Do nothing when the file is already saved and matches the server's hash (v2). */
  skipIfVerified?: boolean;
}

/**
 * Saves server files into the local library: resumes a partial file over v2, verifies the
 * server's SHA-256, and recognises a file that is already saved and intact.
 */
export class Downloader {
  private readonly connection: ClientConnection;
  private readonly library: LocalLibrary;

  constructor(connection: ClientConnection, library: LocalLibrary) {
    this.connection = connection;
    this.library = library;
  }

  /** The server's SHA-256 of a file (from the listing when it had it). Needs v2. */
  async serverHash(entry: RemoteEntry, signal?: AbortSignal): Promise<string> {
    if (entry.sha256) return entry.sha256;
    const info = await this.connection.info(entry.path, signal);
    entry.sha256 = info.sha256;
    if (!info.sha256) throw new AudioStreamError('PROTOCOL_ERROR', 'the server sent no hash');
    return info.sha256;
  }

  /** Compares the local copy with the server's (by SHA-256 over v2). */
  async localState(entry: RemoteEntry, signal?: AbortSignal): Promise<LocalState> {
    const finalPath = this.library.finalPathFor(entry.path);
    const stats = await fsp.stat(finalPath).catch(() => undefined);
    if (!stats?.isFile()) {
      const partial = await fsp.lstat(LocalLibrary.temporaryPathFor(finalPath)).catch(() => undefined);
      return partial?.isFile() ? { kind: 'partial', bytes: partial.size } : { kind: 'missing' };
    }
    await this.connection.connect(signal);
    if (this.connection.version !== 2) return { kind: 'unverified' };
    if (entry.size !== undefined && stats.size !== entry.size) return { kind: 'different' };
    const [expected, actual] = await Promise.all([this.serverHash(entry, signal), sha256OfLocalFile(finalPath, signal)]);
    return actual === expected ? { kind: 'ok' } : { kind: 'different' };
  }

  /** Saves one file at its place in the local library. */
  async download(entry: RemoteEntry, options: DownloadOptions = {}): Promise<DownloadResult> {
    const { signal } = options;
    const finalPath = this.library.finalPathFor(entry.path);
    await this.library.prepareDirectoryFor(finalPath);
    await this.connection.connect(signal);
    const v2 = this.connection.version === 2;

    if (v2 && options.skipIfVerified && (await this.localState(entry, signal)).kind === 'ok') {
      return { outcome: 'already-saved', resumedFrom: 0, transferred: 0 };
    }

    // Over v2, a partial file from an interrupted transfer is continued where it stopped.
    let offset = 0;
    if (v2) {
      // lstat: a link at the .part name is not a partial download (saveFile replaces it).
      const partial = await fsp.lstat(LocalLibrary.temporaryPathFor(finalPath)).catch(() => undefined);
      if (partial?.isFile() && partial.size > 0 && (entry.size === undefined || partial.size < entry.size)) offset = partial.size;
    }
    for (;;) {
      try {
        const file = await this.connection.fetch(entry, offset, signal);
        // Over v1 too the bytes that came are kept, only as the .part (v1 cannot resume, but
        // a later session with a v2 server can, and verifies them).
        await saveFile(file, finalPath, { onFlushed: options.onFlushed, onTemporaryFile: options.onTemporaryFile, keepPartial: true, signal });
        return { outcome: 'saved', resumedFrom: offset, transferred: file.length };
      } catch (err) {
        // A partial file that does not belong to the server's current file (it changed,
        // or shrank) is discarded, and the transfer starts over once.
        if (offset > 0 && (isAudioStreamError(err, 'INTEGRITY_MISMATCH') || isAudioStreamError(err, 'BAD_RANGE'))) {
          await fsp.rm(LocalLibrary.temporaryPathFor(finalPath), { force: true });
          offset = 0;
          continue;
        }
        throw err;
      }
    }
  }
}
