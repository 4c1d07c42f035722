import type { LibraryIndex } from './library-index.js';

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
  const entries = index.entries;
  // Entries are sorted by path: the folder's files form one run, found by binary search.
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.path < prefix) lo = mid + 1;
    else hi = mid;
  }
  const folders: string[] = [];
  const files: string[] = [];
  let truncated = false;
  for (let i = lo; i < entries.length; i++) {
    const p = entries[i]!.path;
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
