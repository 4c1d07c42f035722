import fs from 'node:fs/promises';
import path from 'node:path';
import { AudioStreamError } from '../protocol/index.js';
import { ROLES, type Role } from './account-store.js';
import type { SqliteAccountStore, StoredAccount } from './sqlite-account-store.js';

/** Where accounts were kept before they moved into the server database. */
export const ACCOUNTS_FILE = 'accounts.json';
/** A hand-edited or hostile file cannot make the server read without end. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** The file's format (version 1, the only one written). */
interface FileAccount {
  name: string;
  role: Role;
  scram: { salt: string; iterations: number; storedKey: string; serverKey: string };
  /** Sealed as app-password-seal.ts seals: iv, tag, ciphertext in base64. */
  appPassword?: { iv: string; tag: string; data: string };
  created: string;
}

/**
 * Moves the accounts of `<dataDir>/accounts.json` into the database, once: if the file
 * exists and the database has no accounts, all of them go in one transaction and the file
 * is renamed to `accounts.json.imported-<date>` (kept, 0600, for the operator to delete).
 * App passwords move still sealed: the server secret, and so the seal, is the same.
 * Reports one line through `log` when it imported, or when it left a file alone because
 * the database already had accounts.
 * @throws AudioStreamError ACCOUNTS_FAILED when the file cannot be read or is damaged
 * (nothing imported: the server must not start without the accounts it had).
 */
export async function importAccountsFile(store: SqliteAccountStore, dataDir: string, log: (line: string) => void, now: () => Date = () => new Date()): Promise<number> {
  const file = path.join(dataDir, ACCOUNTS_FILE);
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (stat.size > MAX_FILE_BYTES) throw new AudioStreamError('ACCOUNTS_FAILED', `${file} is larger than ${MAX_FILE_BYTES} bytes: it is not an accounts file`);
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    if (err instanceof AudioStreamError) throw err;
    throw new AudioStreamError('ACCOUNTS_FAILED', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const accounts = parseAccountsFile(text, file);
  if (!store.addAllIfEmpty(accounts)) {
    log(`${file} is not used: the accounts are in ${store.database.file} (remove the file)`);
    return 0;
  }
  const aside = `${file}.imported-${now().toISOString().replace(/[:.]/g, '-')}`;
  try {
    await fs.rename(file, aside);
  } catch (err) {
    // Another process importing at the same moment renamed it first; the accounts are in.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      log(`imported ${accounts.length} account(s) from ${file} into ${store.database.file}, but cannot rename the file (${(err as NodeJS.ErrnoException).code ?? err}): remove it`);
      return accounts.length;
    }
  }
  log(`imported ${accounts.length} account(s) from ${file} into ${store.database.file}; the file is now ${path.basename(aside)}`);
  return accounts.length;
}

function parseAccountsFile(text: string, file: string): StoredAccount[] {
  const bad = (why: string): AudioStreamError => new AudioStreamError('ACCOUNTS_FAILED', `${file} is damaged (${why}): restore it from a backup, or remove it and add the users again`);
  let value: { version?: unknown; accounts?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    throw bad('not JSON');
  }
  if (value?.version !== 1 || !Array.isArray(value.accounts)) throw bad('no version 1 account list');
  const seen = new Set<string>();
  return (value.accounts as FileAccount[]).map((a) => {
    if (typeof a?.name !== 'string' || !ROLES.includes(a.role) || typeof a.scram !== 'object' || a.scram === null) throw bad('an account lacks name, role or keys');
    if (seen.has(a.name)) throw bad(`"${a.name}" is there twice`);
    seen.add(a.name);
    const scram = {
      salt: Buffer.from(String(a.scram.salt), 'base64'),
      iterations: Number(a.scram.iterations),
      storedKey: Buffer.from(String(a.scram.storedKey), 'base64'),
      serverKey: Buffer.from(String(a.scram.serverKey), 'base64'),
    };
    if (scram.storedKey.length !== 32 || scram.serverKey.length !== 32 || scram.salt.length < 8 || !Number.isInteger(scram.iterations) || scram.iterations < 1) {
      throw bad(`the keys of "${a.name}" are malformed`);
    }
    const account: StoredAccount = { name: a.name, role: a.role, scram, created: String(a.created) };
    if (a.appPassword) {
      const { iv, tag, data } = a.appPassword;
      if (typeof iv !== 'string' || typeof tag !== 'string' || typeof data !== 'string') throw bad(`the app password of "${a.name}" is malformed`);
      account.sealedAppPassword = { iv: Buffer.from(iv, 'base64'), tag: Buffer.from(tag, 'base64'), data: Buffer.from(data, 'base64') };
    }
    return account;
  });
}
