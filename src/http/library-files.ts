import type { Stats, promises as fsp } from 'node:fs';
import type { CatalogTrack, Library, LibraryEntry } from '../library/index.js';
import { isAudioStreamError } from '../protocol/index.js';
import { HttpError } from './responses.js';

/** A library file opened for an HTTP response. */
export interface OpenedLibraryFile {
  track: CatalogTrack;
  entry: LibraryEntry;
  file: fsp.FileHandle;
  /** From the open handle: what is actually being sent. */
  stat: Stats;
  /** The SHA-256 the database holds for exactly this stat, if any. */
  sha256?: string;
}

/**
 * Opens the library file with database id `id`: the id is looked up in the database, its
 * path in the current snapshot, and the file opened by the library's checked open (a link
 * out of the library, a FIFO or a swapped file fail there). This is the web interface's
 * only way to open a file, so a stricter open primitive replaces it in one place.
 * @throws HttpError 404 NOT_FOUND / FILE_VANISHED, 403 for an unsafe path, 503 UNREADABLE.
 */
export async function openLibraryFile(library: Library, track: CatalogTrack | undefined): Promise<OpenedLibraryFile> {
  const entry = track ? library.current.byPath(track.path) : undefined;
  if (!track || !entry) throw new HttpError(404, 'NOT_FOUND', 'no file has that id: reload the list');
  let file: fsp.FileHandle;
  let stat: Stats;
  try {
    ({ handle: file, stat } = await library.openFile(entry));
  } catch (err) {
    if (isAudioStreamError(err, 'FILE_VANISHED')) throw new HttpError(404, 'FILE_VANISHED', 'the file has vanished from the library');
    if (isAudioStreamError(err, 'UNSAFE_PATH')) throw new HttpError(404, 'NOT_FOUND', 'the file is no longer inside the library');
    if (isAudioStreamError(err)) throw new HttpError(503, 'UNREADABLE', err.message);
    throw err;
  }
  try {
    const opened: OpenedLibraryFile = { track, entry, file, stat };
    const sha256 = library.store.sha256({ path: entry.path, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino, dev: stat.dev });
    if (sha256) opened.sha256 = sha256;
    return opened;
  } catch (err) {
    await file.close().catch(() => {});
    throw err;
  }
}
