/**
 * The one way to open a file of the library for reading. Every reader goes through it: v1
 * STREAM, v2 GET, hashing for INFO, the tag workers (with the blocking variant).
 *
 * Checking a path and then opening it leaves a gap: a user who can write into the library
 * can swap a directory in the path for a link to an outside directory between the check
 * and the open, and O_NOFOLLOW only guards the last component. Node has no openat(), so
 * instead of walking the path from a directory handle, the file is opened and the opened
 * descriptor itself is checked before a byte is read: the kernel's own name for it
 * (readlink of /proc/self/fd/N) must be the path we meant to open, inside the real library
 * root, and the file now at that path must be the one we hold (same device and inode).
 * Whatever the links did in between, the descriptor tells the truth about what was opened.
 * Most paths have no link at all: for them the realpath() (a system call per component) is
 * skipped, the path is opened as it stands and the same checks are made against it
 * (openDirect); any other outcome takes the full way.
 */
import fs, { constants as fsConstants, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { AudioStreamError } from '../protocol/index.js';

/** An open file of the library: the handle and its fstat() taken once it was verified. */
export interface OpenedLibraryFile {
  handle: fsp.FileHandle;
  stat: Stats;
}

/** The blocking variant's result: a descriptor (the caller closes it) and its fstat(). */
export interface OpenedLibraryFileSync {
  fd: number;
  stat: Stats;
}

// O_NONBLOCK: a FIFO put in a file's place would otherwise block the open (and a thread)
// until a writer came; for regular files it changes nothing. O_NOFOLLOW: the last component
// is never a link (links inside the library are resolved by realpath first).
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

/** Where the kernel names a process's open descriptors (Linux). */
const FD_NAMES = '/proc/self/fd';
const HAS_FD_NAMES = fs.existsSync(FD_NAMES);

/**
 * Opens `relativePath` (as the scan listed it: `/`-separated, below the root) for reading,
 * and returns it only if the opened file lies inside `realRoot` (the library root with every
 * link resolved) and is a regular file.
 * @throws AudioStreamError FILE_VANISHED, UNSAFE_PATH (outside the library, or swapped while
 * being opened) or UNREADABLE (not a regular file, or out of file descriptors).
 */
export async function openLibraryFile(realRoot: string, relativePath: string): Promise<OpenedLibraryFile> {
  const wanted = pathBelow(realRoot, relativePath);
  if (HAS_FD_NAMES) {
    const direct = await openDirect(wanted);
    if (direct) return direct;
  }
  let handle: fsp.FileHandle | undefined;
  try {
    const real = await fsp.realpath(wanted);
    requireInside(realRoot, real, relativePath);
    handle = await fsp.open(real, OPEN_FLAGS);
    const stat = await handle.stat();
    if (HAS_FD_NAMES) requireSameName(await fsp.readlink(`${FD_NAMES}/${handle.fd}`), real, relativePath);
    requireSameFile(stat, await fsp.stat(real), relativePath);
    requireRegular(stat, relativePath);
    const opened = { handle, stat };
    handle = undefined;
    return opened;
  } catch (err) {
    throw asOpenError(err, relativePath);
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * The common case without realpath(): the path as listed has no link in it, so it is its own
 * real path. It is opened as it stands, and kept only if the kernel's name for the opened
 * descriptor is exactly that path (inside the real root by construction) and the file at the
 * path is the one held: the very checks the full way makes, against the same name. A link
 * anywhere in the path (resolved by the open) shows as another name, a link as the last
 * component fails the open (O_NOFOLLOW); then, as on any error, undefined: the full way
 * decides, with its own errors.
 */
async function openDirect(wanted: string): Promise<OpenedLibraryFile | undefined> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(wanted, OPEN_FLAGS);
    const stat = await handle.stat();
    if (!stat.isFile() || (await fsp.readlink(`${FD_NAMES}/${handle.fd}`)) !== wanted || !sameFile(stat, await fsp.stat(wanted))) return undefined;
    const opened = { handle, stat };
    handle = undefined;
    return opened;
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * {@link openLibraryFile} with blocking calls, for worker threads (the tag reader), where
 * blocking is harmless. Same checks, same errors; the caller closes `fd`.
 */
export function openLibraryFileSync(realRoot: string, relativePath: string): OpenedLibraryFileSync {
  const wanted = pathBelow(realRoot, relativePath);
  if (HAS_FD_NAMES) {
    const direct = openDirectSync(wanted);
    if (direct) return direct;
  }
  let fd: number | undefined;
  try {
    const real = fs.realpathSync(wanted);
    requireInside(realRoot, real, relativePath);
    fd = fs.openSync(real, OPEN_FLAGS);
    const stat = fs.fstatSync(fd);
    if (HAS_FD_NAMES) requireSameName(fs.readlinkSync(`${FD_NAMES}/${fd}`), real, relativePath);
    requireSameFile(stat, fs.statSync(real), relativePath);
    requireRegular(stat, relativePath);
    const opened = { fd, stat };
    fd = undefined;
    return opened;
  } catch (err) {
    throw asOpenError(err, relativePath);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** {@link openDirect} with blocking calls: four system calls where the full way makes one per path component more. */
function openDirectSync(wanted: string): OpenedLibraryFileSync | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(wanted, OPEN_FLAGS);
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() || fs.readlinkSync(`${FD_NAMES}/${fd}`) !== wanted || !sameFile(stat, fs.statSync(wanted))) return undefined;
    const opened = { fd, stat };
    fd = undefined;
    return opened;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** True when `real` is the root itself or lies below it. */
export function isInside(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep);
}

/** The path a listed relative path names; refuses anything that could climb out by itself. */
function pathBelow(realRoot: string, relativePath: string): string {
  // An empty, "." or ".." component, a leading or trailing "/", or a NUL: the rest is joined
  // as it stands, which is what path.join would make of it (a tenth of a tag read's time).
  if (UNSAFE_RELATIVE.test(relativePath)) throw new AudioStreamError('UNSAFE_PATH', `"${relativePath}" is not a path inside the library`);
  return (realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep) + relativePath;
}

/** A relative path that could name something other than a file below the root by itself. */
const UNSAFE_RELATIVE = /(?:^|\/)\.{0,2}(?:\/|$)|\0/;

function outside(relativePath: string): AudioStreamError {
  return new AudioStreamError('UNSAFE_PATH', `"${relativePath}" now points outside the library`);
}

function requireInside(realRoot: string, real: string, relativePath: string): void {
  if (!isInside(realRoot, real)) throw outside(relativePath);
}

/**
 * The kernel's name for what we opened must be what we meant: a directory swapped for a link
 * between realpath() and open() shows here as the outside path. (A file deleted since shows
 * as "… (deleted)", and is refused too: it is no longer what the library lists.)
 */
function requireSameName(opened: string, real: string, relativePath: string): void {
  if (opened !== real) throw outside(relativePath);
}

/** The file at the path now must be the one we hold: a swap after the open is caught too. */
function requireSameFile(held: Stats, atPath: Stats, relativePath: string): void {
  if (!sameFile(held, atPath)) throw outside(relativePath);
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function requireRegular(stat: Stats, relativePath: string): void {
  if (!stat.isFile()) throw new AudioStreamError('UNREADABLE', `"${relativePath}" is no longer a regular file`);
}

function asOpenError(err: unknown, relativePath: string): AudioStreamError {
  if (err instanceof AudioStreamError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new AudioStreamError('FILE_VANISHED', `"${relativePath}" has vanished from the library`);
  if (code === 'EMFILE' || code === 'ENFILE') return new AudioStreamError('UNREADABLE', 'the server is out of file descriptors; try again in a moment');
  if (code === 'ELOOP') return new AudioStreamError('UNSAFE_PATH', `"${relativePath}" was replaced by a link`);
  return new AudioStreamError('UNREADABLE', `cannot open "${relativePath}": ${code ?? String(err)}`);
}
