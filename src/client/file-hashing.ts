import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { AudioStreamError } from '../protocol/index.js';

/**
 * Hashes a file as it is written: the prefix already on disk (a resumed transfer) is read
 * back once, then each chunk is hashed as it passes on its way to the disk.
 *
 * Hashing in a worker thread that reads the file behind the writer was measured twice and
 * dropped: with server and client sharing two cores it cost the client 0.6 s more CPU per
 * GiB than hashing inline, and 10 MB of RSS; interleaved, the get ratio was 0.55–0.67
 * with it and 0.86–0.93 without (docs/BENCHMARKS.md).
 */
export interface GrowingFileHash {
  /** A chunk written at the end of the file. */
  update(chunk: Buffer): void;
  /** The file is complete: its SHA-256. */
  digest(): string;
}

const read = promisify(fs.read);

/**
 * A hash of the open file `fd` that already holds `prefix` bytes. Reading a large prefix
 * back takes a while (about a second per GB), so `signal` (Ctrl-C) stops it between reads.
 */
export async function hashGrowingFile(fd: number, prefix: number, signal?: AbortSignal): Promise<GrowingFileHash> {
  const hash = createHash('sha256');
  await hashPrefix(fd, prefix, hash, signal);
  return { update: (chunk) => hash.update(chunk), digest: () => hash.digest('hex') };
}

async function hashPrefix(fd: number, length: number, hash: Hash, signal: AbortSignal | undefined): Promise<void> {
  const buf = Buffer.allocUnsafe(Math.min(length, 1024 * 1024));
  let pos = 0;
  while (pos < length) {
    if (signal?.aborted) throw new AudioStreamError('CANCELLED', 'cancelled');
    const { bytesRead } = await read(fd, buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) throw new Error('the partial file is shorter than expected');
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
}
