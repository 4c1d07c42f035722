import { AudioStreamError } from '../protocol/index.js';
import type { RemoteEntry } from './client-connection.js';
import { safeRelativePath } from './local-library.js';

/**
 * Server names that would be saved at the same local name. The client stores names in
 * Unicode NFC (safeRelativePath), so "Café" sent as NFC and as NFD (`e` + U+0301), two
 * files to the server, are one file locally, and saving both wrote the second over the
 * first while reporting "2 saved". For each entry whose local name an earlier entry of the
 * listing already has, this maps its index to that earlier entry: the first keeps the
 * name, the others are refused.
 */
export function findLocalNameCollisions(entries: Iterable<RemoteEntry>): Map<number, RemoteEntry> {
  const owners = new Map<string, RemoteEntry>();
  const collisions = new Map<number, RemoteEntry>();
  for (const entry of entries) {
    let local: string;
    try {
      local = safeRelativePath(entry.path);
    } catch {
      continue; // refused anyway, and on its own grounds, when it is asked for
    }
    const owner = owners.get(local);
    if (owner) collisions.set(entry.index, owner);
    else owners.set(local, entry);
  }
  return collisions;
}

/** The error for saving `entry`, whose local name `owner` (an earlier file in the listing) has. */
export function collisionError(entry: RemoteEntry, owner: RemoteEntry): AudioStreamError {
  return new AudioStreamError(
    'UNSAFE_PATH',
    `refusing to save "${entry.path}" (file ${entry.index}): its name is the same as file ${owner.index}'s ("${owner.path}") once Unicode-normalised, so it would overwrite it`,
  );
}
