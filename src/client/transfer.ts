import { createHash } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { AudioStreamError, isAudioStreamError } from '../protocol/index.js';
import type { IncomingFile } from './client-connection.js';
import { EarlyWriteback } from './early-writeback.js';
import { hashGrowingFile, type GrowingFileHash } from './file-hashing.js';
import { LocalLibrary, writeError } from './local-library.js';
import type { Player } from './player.js';

export interface SaveOptions {
  /**
   * Called as bytes reach the file (after each write completes), with the file's length
   * so far, a resumed prefix included.
   */
  onFlushed?: (bytes: number) => void;
  /** Called once the temporary file exists, with its path. */
  onTemporaryFile?: (path: string) => void;
  /**
   * Keep the partial file after a broken transfer, so that a later get can resume it
   * (v2). Bytes that failed verification are never kept.
   */
  keepPartial?: boolean;
  /** Ctrl-C: stops the long steps that are not reading the body (hashing a resumed prefix). */
  signal?: AbortSignal;
}

/** Failures after which the bytes already written are still good for resuming. */
const RESUMABLE: ReadonlySet<string> = new Set(['TRUNCATED_TRANSFER', 'CONNECTION_CLOSED', 'TIMEOUT', 'CANCELLED']);

/**
 * Saves a file body at `finalPath`. Bytes go to a temporary name beside it; only a
 * complete file (every byte, flushed to disk, and over v2 matching the server's SHA-256)
 * is renamed into place, so a failure never leaves a truncated or corrupt file at the
 * final name. A body that starts at an offset continues the temporary file from there.
 * Reading the body only as fast as the disk takes it pauses the socket: memory stays bounded.
 */
export async function saveFile(file: IncomingFile, finalPath: string, options: SaveOptions = {}): Promise<void> {
  const temporaryPath = LocalLibrary.temporaryPathFor(finalPath);
  const resuming = file.offset > 0;
  // Take the bytes from now on, while the file is being opened: a body whose connection
  // fails meanwhile is destroyed, and a destroyed stream drops what it buffered, which a
  // resumable partial file should have kept.
  const early = holdBody(file.body);
  // A plain descriptor, not a FileHandle: a FileHandle lent to a write stream cannot be
  // closed by us afterwards (its close waits on the stream forever).
  // Never through a link: a `.part` planted as a symlink must not redirect our writes
  // elsewhere. A fresh transfer removes whatever has the name (a link itself, not its
  // target); a resumed one refuses a link (the downloader does not take one for a partial).
  if (!resuming) await fsp.rm(temporaryPath, { force: true }).catch(() => {});
  const flags = resuming ? fs.constants.O_RDWR | fs.constants.O_NOFOLLOW : fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
  const fd = await openFile(temporaryPath, flags, 0o666).catch((err: unknown) => {
    // Give up the reply too: a body nobody reads would stall the connection for good.
    early.take();
    file.body.destroy();
    throw writeError(`cannot write ${temporaryPath}`, err);
  });
  let fdOpen = true;
  const closeFd = async (): Promise<void> => {
    if (fdOpen) {
      fdOpen = false;
      await closeFile(fd);
    }
  };
  let written = 0;
  let keep = false;
  let hash: GrowingFileHash | undefined;
  const writeback = new EarlyWriteback(fd);
  try {
    if (resuming) {
      // A body continues the partial file exactly where it ends, never past it: a server
      // claiming an offset beyond it would have us grow the file (to 16 TiB, once) and hash it.
      const { size } = await fstat(fd);
      if (file.offset > size) throw new AudioStreamError('PROTOCOL_ERROR', `the server continued the file at byte ${file.offset}, past the ${size} bytes saved so far`);
      await ftruncate(fd, file.offset);
    }
    hash = file.trailer ? await hashGrowingFile(fd, file.offset, options.signal) : undefined;
    options.onTemporaryFile?.(temporaryPath);
    options.onFlushed?.(file.offset);
    const out = createWriteStream('', { fd, autoClose: false, start: file.offset, highWaterMark: 1024 * 1024 });
    await writeBody(file.body, early.take(), out, (chunk) => {
      hash?.update(chunk);
    }, (chunk) => {
      written += chunk.length;
      writeback.written(chunk.length);
      // Hashed and on disk: nothing refers to the chunk any more.
      file.release(chunk);
      options.onFlushed?.(file.offset + written);
    });
    if (written !== file.length) {
      throw new AudioStreamError('TRUNCATED_TRANSFER', `received ${written} of ${file.length} bytes`);
    }
    if (file.trailer && hash) {
      const expected = await file.trailer;
      const actual = hash.digest();
      if (actual !== expected) {
        throw new AudioStreamError(
          'INTEGRITY_MISMATCH',
          `the file's SHA-256 does not match the server's (got ${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}…): it was corrupted on the way${resuming ? ' or changed since the partial download' : ''}`,
        );
      }
    }
    await writeback.finish();
    await closeFd();
    await fsp.rename(temporaryPath, finalPath).catch((err) => {
      throw writeError(`cannot move the finished file to ${finalPath}`, err);
    });
  } catch (err) {
    file.body.destroy();
    keep = options.keepPartial === true && isAudioStreamError(err) && RESUMABLE.has(err.code) && file.offset + written > 0;
    await writeback.settle();
    await closeFd().catch(() => {});
    if (!keep) await fsp.rm(temporaryPath, { force: true }).catch(() => {});
    throw isAudioStreamError(err) ? err : writeError(`cannot write ${finalPath}`, err);
  }
}

/** SHA-256 of a local file, as lowercase hex; `signal` (Ctrl-C) stops it between reads. */
export async function sha256OfLocalFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    if (signal?.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
    hash.update(chunk);
  }
  return hash.digest('hex');
}

const openFile = promisify(fs.open);
const closeFile = promisify(fs.close);
const ftruncate = promisify(fs.ftruncate);
const fstat = promisify(fs.fstat);

/** Bytes a body may hold ahead of its writer: the body is paused beyond this. */
const HOLD_LIMIT = 1024 * 1024;

/**
 * Starts taking a body's chunks at once, before their writer is ready; `take()` stops and
 * hands them over. Holds at most about HOLD_LIMIT bytes (then pauses the body, and so
 * the socket).
 */
function holdBody(body: Readable): { take(): Buffer[] } {
  const held: Buffer[] = [];
  let bytes = 0;
  const onData = (chunk: Buffer): void => {
    held.push(chunk);
    bytes += chunk.length;
    if (bytes >= HOLD_LIMIT) body.pause();
  };
  body.on('data', onData);
  return {
    take: () => {
      body.off('data', onData);
      return held.splice(0);
    },
  };
}

/**
 * Writes a body to `out` as it arrives, pausing the body (and so the socket) while the
 * disk is behind. Consumes the body in flowing mode, chunk by chunk as received: an async
 * iterator would gather the chunks buffered meanwhile into a new buffer, a copy of every
 * byte under backpressure. Resolves once every write has completed, even after a failure
 * (the descriptor must not be closed under a write); rejects with the first error.
 */
async function writeBody(
  body: Readable,
  held: readonly Buffer[],
  out: fs.WriteStream,
  onChunk: (chunk: Buffer) => void,
  onWritten: (chunk: Buffer) => void,
): Promise<void> {
  let outError: unknown;
  const outFailed = new Promise<void>((resolve) => {
    // Never removed: a write stream's error with no listener would crash the process.
    out.on('error', (err) => {
      outError ??= err;
      resolve();
    });
  });
  // finished() also covers a body that failed before we got here (its events are past).
  const bodyDone = finished(body);
  bodyDone.catch(() => {}); // raced below; a late rejection is not an unhandled one
  const onData = (chunk: Buffer): void => {
    onChunk(chunk);
    const ok = out.write(chunk, (err) => {
      if (!err) onWritten(chunk);
    });
    if (!ok) body.pause();
  };
  const onDrain = (): void => {
    body.resume();
  };
  for (const chunk of held) onData(chunk);
  body.on('data', onData);
  out.on('drain', onDrain);
  if (out.writableNeedDrain) body.pause();
  else body.resume(); // holdBody may have paused it
  let failure: unknown;
  try {
    await Promise.race([bodyDone, outFailed]);
  } catch (err) {
    failure = err;
  }
  failure ??= outError;
  body.off('data', onData);
  out.off('drain', onDrain);
  if (failure) body.pause();
  await new Promise<void>((resolve) => out.end(() => resolve()));
  if (failure) throw failure;
}

export interface PlaybackResult {
  /** Bytes the player accepted before it finished or quit. */
  fed: number;
  /** The player quit before it was given the whole file. */
  quitEarly: boolean;
}

/**
 * Pipes a body into a player at the player's pace (`stream`): a slow player pauses the
 * socket. If the player quits early, the rest of the body is read and dropped so the
 * connection stays in step for the next command. Chunks go one at a time in flowing mode
 * (an async iterator would gather those buffered meanwhile into a new buffer); `release`
 * hands each back once the player's pipe has taken it (see ReadBufferPool).
 */
export async function playBody(
  body: Readable,
  player: Player,
  onBytes?: (bytes: number) => void,
  release?: (chunk: Buffer) => void,
): Promise<PlaybackResult> {
  let fed = 0;
  let received = 0;
  let writing: Promise<void> = Promise.resolve();
  const done = finished(body);
  done.catch(() => {}); // awaited below
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    onBytes?.(received);
    if (player.hasExited) return; // dropped: the connection must still reach the end
    body.pause();
    writing = player.write(chunk, () => release?.(chunk)).then((taken) => {
      if (taken) fed += chunk.length;
      body.resume();
    });
  };
  body.on('data', onData);
  try {
    await done;
  } finally {
    body.off('data', onData);
  }
  await writing; // the last chunk's fate decides quitEarly
  // A write is refused only once the player's input is gone, so any refused byte means it
  // quit early. Not `player.hasExited`: its 'exit' event may not have arrived yet.
  const quitEarly = fed < received;
  player.endInput();
  return { fed, quitEarly };
}
