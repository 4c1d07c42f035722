import type { LibraryIndex } from './library-index.js';
import { PackedEntries } from './packed-entries.js';

/** Most entries one folder listing returns, folders and files together. */
export const MAX_FOLDER_ENTRIES = 5000;

export interface FolderListing {
  /** The folder, `/`-separated and relative to the library ('' for the top). */
  folder: string;
  /** Names of the folders directly inside, sorted. */
  folders: string[];
  /** Relative paths of the files directly inside, sorted. */
  files: string[];
  /** True when more than MAX_FOLDER_ENTRIES were there and the rest were left out. */
  truncated: boolean;
}

/**
 * One folder of a snapshot, from the scan's sorted paths (nothing on disk is read: a name
 * asked for is only compared with paths the scan found, so no request can reach a folder
 * outside the library). Undefined when no file lies under it.
 */
export function listFolder(index: LibraryIndex, folder: string): FolderListing | undefined {
  const prefix = folder === '' ? '' : folder + '/';
  // Paths read one at a time from the snapshot as it is held (packed, usually): the first
  // folder view must not make an object per file of the library (100,000 of them).
  const snapshot = index.files;
  const pathAt = snapshot instanceof PackedEntries ? (i: number) => snapshot.path(i) : (i: number) => snapshot.at(i)!.path;
  const count = snapshot.length;
  // Entries are sorted by path: the folder's files form one run, found by binary search.
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pathAt(mid) < prefix) lo = mid + 1;
    else hi = mid;
  }
  const folders: string[] = [];
  const files: string[] = [];
  let truncated = false;
  for (let i = lo; i < count; i++) {
    const p = pathAt(i);
    if (!p.startsWith(prefix)) break;
    if (folders.length + files.length >= MAX_FOLDER_ENTRIES) {
      truncated = true;
      break;
    }
    const rest = p.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash === -1) files.push(p);
    else {
      const name = rest.slice(0, slash);
      if (folders[folders.length - 1] !== name) folders.push(name);
    }
  }
  if (folders.length === 0 && files.length === 0 && folder !== '') return undefined;
  return { folder, folders, files, truncated };
}
