import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AudioStreamError } from '../protocol/index.js';
import { displayText } from './display-text.js';

/** Longest file or directory name most filesystems accept, in bytes. */
const MAX_NAME_BYTES = 255;

/**
 * Turns a path the server sent into a safe relative path for the local library, or
 * refuses it. A server is not trusted to choose where we write: nothing may climb out of
 * the library, name an absolute path, or smuggle a separator or NUL. Names are stored in
 * Unicode NFC so that the same title saved from two systems is one file.
 */
export function safeRelativePath(remotePath: string): string {
  const refuse = (why: string): never => {
    throw new AudioStreamError('UNSAFE_PATH', `refusing to save "${printable(remotePath)}": ${why}`);
  };
  if (remotePath.length === 0) refuse('the name is empty');
  if (remotePath.includes('\0')) refuse('the name contains a NUL byte');
  if (remotePath.includes('\\')) refuse('the name contains a backslash');
  if (remotePath.startsWith('/')) refuse('it is an absolute path');
  // C1 controls (U+0080-U+009F) too: U+009B is CSI to an 8-bit terminal.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f-\x9f]/.test(remotePath)) refuse('the name contains control characters');
  const parts = remotePath.normalize('NFC').split('/');
  for (const part of parts) {
    if (part === '' ) refuse('it has an empty path component');
    if (part === '.' || part === '..') refuse('it has a "." or ".." component');
    if (Buffer.byteLength(part, 'utf8') > MAX_NAME_BYTES) refuse(`a component is longer than ${MAX_NAME_BYTES} bytes`);
  }
  return parts.join('/');
}

/**
 * The local library directory: created on first use with mode 0700; its subdirectories
 * get the library's own permission bits (set explicitly, so the umask does not narrow them).
 */
export class LocalLibrary {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Where `remotePath` is saved; throws UNSAFE_PATH for a path we will not write. */
  finalPathFor(remotePath: string): string {
    const rel = safeRelativePath(remotePath);
    const abs = path.join(this.root, ...rel.split('/'));
    // Belt and braces: the checks above already make this impossible.
    if (!abs.startsWith(this.root + path.sep)) {
      throw new AudioStreamError('UNSAFE_PATH', `refusing to save "${printable(remotePath)}": it resolves outside the library`);
    }
    return abs;
  }

  /**
   * The name a file is written under until it is complete, beside it: `.NAME.part`, or,
   * when that would pass the 255-byte limit on a name (NAME over 249 bytes), a shorter
   * `.PREFIX~HASH.partial`: the name's first bytes (for people) and 16 hex digits of the
   * SHA-256 of the whole name (so that two long names with one prefix get two partial
   * files). The name depends only on the final name, so a later `get` finds it to resume;
   * the other ending keeps it from ever being the `.part` of some shorter name.
   */
  static temporaryPathFor(finalPath: string): string {
    const name = path.basename(finalPath);
    const plain = `.${name}.part`;
    if (Buffer.byteLength(plain, 'utf8') <= MAX_NAME_BYTES) return path.join(path.dirname(finalPath), plain);
    const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 16);
    const suffix = `~${hash}.partial`;
    return path.join(path.dirname(finalPath), `.${truncateUtf8(name, MAX_NAME_BYTES - 1 - suffix.length)}${suffix}`);
  }

  /** Creates the library and the directories that lead to `finalPath`. */
  async prepareDirectoryFor(finalPath: string): Promise<void> {
    let mode: number;
    try {
      await makeDirectories(this.root, 0o700);
      mode = (await fsp.stat(this.root)).mode & 0o7777;
    } catch (err) {
      // mkdir -p on a regular file fails with a bare EEXIST: say what it means.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new AudioStreamError('WRITE_FAILED', `cannot use ${this.root} as the library: it is a file, not a directory (pass -l DIR)`, { cause: err });
      }
      throw writeError(`cannot create the library directory ${this.root}`, err);
    }
    const rel = path.relative(this.root, path.dirname(finalPath));
    let dir = this.root;
    for (const part of rel ? rel.split(path.sep) : []) {
      dir = path.join(dir, part);
      try {
        await fsp.mkdir(dir, { mode });
        await fsp.chmod(dir, mode);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          const stats = await fsp.lstat(dir);
          if (stats.isDirectory()) continue;
          throw new AudioStreamError('WRITE_FAILED', `cannot save into ${dir}: a file with that name is in the way`);
        }
        throw writeError(`cannot create ${dir}`, err);
      }
    }
    // Refuse a directory at the final name now, before the transfer, not at the rename
    // after every byte has been fetched.
    if ((await fsp.lstat(finalPath).catch(() => undefined))?.isDirectory()) {
      throw new AudioStreamError('WRITE_FAILED', `cannot save ${finalPath}: a directory with that name is in the way`);
    }
  }
}

/** A filesystem failure as a message that says what to do. */
export function writeError(what: string, err: unknown): AudioStreamError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const hint =
    code === 'ENOSPC' ? 'the disk is full: free some space and try again'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied: pick a library you can write with -l DIR'
    : code === 'EROFS' ? 'the filesystem is read-only: pick another library with -l DIR'
    : code === 'ENAMETOOLONG' ? 'the name is too long for this filesystem'
    : code === 'EISDIR' ? 'a directory with that name is in the way'
    : code === 'ENOTDIR' ? 'a file is in the way of a directory on that path'
    : code === 'ENOENT' ? 'no directory can be made there: pick another library with -l DIR'
    : code === 'EILSEQ' || code === 'EINVAL' ? 'this filesystem cannot store that name'
    : (code ?? String(err));
  return new AudioStreamError('WRITE_FAILED', `${what}: ${hint}`, { cause: err });
}

/** The longest start of `s` that fits in `bytes` bytes of UTF-8, never cutting a character. */
function truncateUtf8(s: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const c of s) {
    const n = Buffer.byteLength(c, 'utf8');
    if (used + n > bytes) break;
    out += c;
    used += n;
  }
  return out;
}

function printable(s: string): string {
  const shown = displayText(s);
  return shown.length > 120 ? `${shown.slice(0, 120)}…` : shown;
}

/**
 * `mkdir -p` one level at a time. Not fsp.mkdir's `recursive`: on a filesystem that answers
 * ENOENT for a name it will never create (under /proc), Node's recursive mkdir retries
 * forever at full CPU. Here a level that still cannot be made after its parent exists fails.
 * Throws the error of the first level that failed; EEXIST when a non-directory is in the way.
 */
async function makeDirectories(dir: string, mode: number, depth = 0): Promise<void> {
  try {
    await fsp.mkdir(dir, { mode });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await fsp.stat(dir)).isDirectory()) return;
      throw err;
    }
    const parent = path.dirname(dir);
    // 4096: longer than any path the system accepts, so this only stops a runaway.
    if (code !== 'ENOENT' || parent === dir || depth > 4096) throw err;
  }
  await makeDirectories(path.dirname(dir), mode, depth + 1);
  await fsp.mkdir(dir, { mode }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST' && (await fsp.stat(dir)).isDirectory()) return;
    throw err;
  });
}
