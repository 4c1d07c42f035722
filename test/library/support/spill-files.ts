import fs from 'node:fs';
import path from 'node:path';
import { SPILL_PREFIX } from '../../../src/library/listing-spill.js';

/**
 * What this process's descriptors name among the spill files of `directory` (listing-spill.ts):
 * one per kept reply, each ending in " (deleted)" since it is unlinked when opened.
 */
export function openSpillFiles(directory: string): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(path.join(directory, SPILL_PREFIX)) ? [target] : [];
    } catch {
      return []; // the directory listing's own descriptor, gone by now
    }
  });
}

/** Spill files left under their names in `directory` (there should be none). */
export function spillFilesNamedIn(directory: string): string[] {
  return fs.readdirSync(directory).filter((name) => name.startsWith(SPILL_PREFIX));
}
