import fs from 'node:fs/promises';
import path from 'node:path';
import { AudioStreamError } from '../protocol/index.js';
import type { AccountStore } from './account-store.js';
import { writePrivateFileAtomic } from './private-files.js';

/**
 * A data directory that has had accounts keeps this file beside the database. Accounts live in
 * the database, and a database found damaged is set aside and rebuilt empty; without the mark, a
 * server with accounts would then come back up serving everyone. With it, a server whose
 * database has lost its accounts refuses to start until the operator decides.
 */
export const ACCOUNTS_MARK = 'accounts-exist';

function markFile(dataDir: string): string {
  return path.join(dataDir, ACCOUNTS_MARK);
}

async function marked(dataDir: string): Promise<boolean> {
  try {
    await fs.access(markFile(dataDir));
    return true;
  } catch {
    return false;
  }
}

/** Sets or clears the mark after a change of accounts (`user add`, `user remove`). */
export async function recordAccountsMark(store: AccountStore, dataDir: string): Promise<void> {
  if (await store.hasAccounts()) {
    if (!(await marked(dataDir))) await writePrivateFileAtomic(markFile(dataDir), 'this data directory has accounts (see docs/SECURITY.md)\n');
  } else {
    await fs.rm(markFile(dataDir), { force: true });
  }
}

/**
 * At server start: accounts and no mark (an older data directory, or an import) sets the mark;
 * a mark and no accounts is refused, never taken for "no accounts, serve everyone".
 * @throws AudioStreamError ACCOUNTS_FAILED
 */
export async function checkAccountsMark(store: AccountStore, dataDir: string): Promise<void> {
  const has = await store.hasAccounts();
  if (has) return recordAccountsMark(store, dataDir);
  if (await marked(dataDir)) {
    throw new AudioStreamError(
      'ACCOUNTS_FAILED',
      `this data directory (${dataDir}) had accounts, but its database has none (set aside as damaged, or replaced): ` +
        `not starting open to everyone. Restore the set-aside library.sqlite.* file, add a user again (as-server user add NAME), ` +
        `or remove ${markFile(dataDir)} to serve everyone`,
    );
  }
}
