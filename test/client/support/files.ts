import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under the system temp dir; remove it with `removeDir`. */
export function makeTempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `as-client-test-${prefix}-`));
}

export function removeDir(dir: string): Promise<void> {
  return fsp.rm(dir, { recursive: true, force: true });
}

/**
 * Writes a library of random files: `files` maps a relative path (`/`-separated) to a size
 * in bytes. Written in 1 MB pieces so a big file never sits whole in memory.
 */
export async function writeRandomLibrary(root: string, files: Record<string, number>): Promise<void> {
  for (const [rel, size] of Object.entries(files)) {
    const abs = path.join(root, ...rel.split('/'));
    await fsp.mkdir(path.dirname(abs), { recursive: true });
    const handle = await fsp.open(abs, 'w');
    try {
      for (let done = 0; done < size; ) {
        const piece = randomBytes(Math.min(1024 * 1024, size - done));
        await handle.write(piece);
        done += piece.length;
      }
    } finally {
      await handle.close();
    }
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file under `dir`, relative and `/`-separated (an empty list if `dir` is missing). */
export async function listFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir, { recursive: true })) as string[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: string[] = [];
  for (const name of names) {
    if ((await fsp.lstat(path.join(dir, name))).isFile()) files.push(name.split(path.sep).join('/'));
  }
  return files.sort();
}

export async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}
