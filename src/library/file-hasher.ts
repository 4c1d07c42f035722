import { createHash } from 'node:crypto';
import type { promises as fsp } from 'node:fs';

const READ_CHUNK = 1024 * 1024;

/** Lowercase hex SHA-256 of an open file from its start, read in chunks (never held in memory). */
export async function sha256OfOpenFile(file: fsp.FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let position = 0;
  for (;;) {
    const { bytesRead } = await file.read(buf, 0, buf.length, position);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}
