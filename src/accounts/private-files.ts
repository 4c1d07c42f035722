/**
 * Files only the server's user may read (mode 0600, in a 0700 directory), replaced
 * atomically: a reader sees the old file or the new one, never half of either, and a crash
 * leaves no half-written file at the final name.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AudioStreamError } from '../protocol/index.js';

export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
}

/** temp file (0600, O_EXCL) + fsync + rename + fsync of the directory. */
export async function writePrivateFileAtomic(file: string, contents: string | Buffer): Promise<void> {
  const dir = path.dirname(file);
  await ensurePrivateDir(dir);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  const dirHandle = await fs.open(dir, 'r').catch(() => undefined);
  await dirHandle?.sync().catch(() => {});
  await dirHandle?.close();
}

/**
 * The server's own random secret (32 bytes, `<dataDir>/server-secret`), made on first use.
 * It derives the made-up salts shown for unknown user names and the key that seals app
 * passwords. Two processes racing to make it agree on one: `link` refuses to replace.
 */
export async function loadServerSecret(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, 'server-secret');
  try {
    return parseSecret(await fs.readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await ensurePrivateDir(dataDir);
  const temp = path.join(dataDir, `.server-secret.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${randomBytes(32).toString('hex')}\n`);
    await handle.sync();
    await handle.close();
    await fs.link(temp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await fs.rm(temp, { force: true });
  }
  return parseSecret(await fs.readFile(file, 'utf8'), file);
}

function parseSecret(text: string, file: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new AudioStreamError('ACCOUNTS_FAILED', `${file} is not a server secret (64 hex digits): remove it to make a new one`);
  return Buffer.from(hex, 'hex');
}
