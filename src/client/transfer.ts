import { createWriteStream, promises as fsp } from 'node:fs';
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { AudioStreamError, isAudioStreamError } from '../protocol/index.js';
import type { IncomingFile } from './client-connection.js';
import { LocalLibrary, writeError } from './local-library.js';
import type { Player } from './player.js';

export interface SaveOptions {
  /** Called as bytes reach the file (after each write completes), with the running total. */
  onFlushed?: (bytes: number) => void;
  /** Called once the temporary file exists, with its path. */
  onTemporaryFile?: (path: string) => void;
}

/**
 * Saves a file body at `finalPath`. Bytes go to a temporary name beside it; only a
 * complete file (every announced byte, flushed to disk) is renamed into place, so a
 * failure never leaves a truncated file at the final name. Reading the body only as fast
 * as the disk takes it pauses the socket: memory stays bounded.
 */
export async function saveFile(file: IncomingFile, finalPath: string, options: SaveOptions = {}): Promise<void> {
  const temporaryPath = LocalLibrary.temporaryPathFor(finalPath);
  // A plain descriptor, not a FileHandle: a FileHandle lent to a write stream cannot be
  // closed by us afterwards (its close waits on the stream forever).
  const fd = await openFile(temporaryPath, 'w').catch((err: unknown) => {
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
  try {
    options.onTemporaryFile?.(temporaryPath);
    const out = createWriteStream('', { fd, autoClose: false, highWaterMark: 1024 * 1024 });
    let writeError_: unknown;
    out.on('error', (err) => (writeError_ = err));
    for await (const chunk of file.body as AsyncIterable<Buffer>) {
      if (writeError_) break;
      const ok = out.write(chunk, (err) => {
        if (err) return;
        written += chunk.length;
        options.onFlushed?.(written);
      });
      if (!ok) await waitForDrainOrError(out);
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (writeError_) throw writeError_;
    if (written !== file.size) {
      throw new AudioStreamError('TRUNCATED_TRANSFER', `received ${written} of ${file.size} bytes`);
    }
    await fdatasync(fd);
    await closeFd();
    await fsp.rename(temporaryPath, finalPath).catch((err) => {
      throw writeError(`cannot move the finished file to ${finalPath}`, err);
    });
  } catch (err) {
    file.body.destroy();
    await closeFd().catch(() => {});
    await fsp.rm(temporaryPath, { force: true }).catch(() => {});
    throw isAudioStreamError(err) ? err : writeError(`cannot write ${finalPath}`, err);
  }
}

const openFile = promisify(fs.open);
const closeFile = promisify(fs.close);
const fdatasync = promisify(fs.fdatasync);

function waitForDrainOrError(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('error', done);
  });
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
 * connection stays in step for the next command.
 */
export async function playBody(body: Readable, player: Player, onBytes?: (bytes: number) => void): Promise<PlaybackResult> {
  let fed = 0;
  let received = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    received += chunk.length;
    onBytes?.(received);
    if (!player.hasExited && (await player.write(chunk))) fed += chunk.length;
  }
  const quitEarly = player.hasExited && fed < received;
  player.endInput();
  return { fed, quitEarly };
}
