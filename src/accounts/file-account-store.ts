import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AudioStreamError, type ScramCredential } from '../protocol/index.js';
import { ROLES, type Account, type AccountStore, type AccountSummary, type Role } from './account-store.js';
import { writePrivateFileAtomic } from './private-files.js';

/** The file's name inside the server's data directory. */
export const ACCOUNTS_FILE = 'accounts.json';
/** A hand-edited or hostile file cannot make the server read without end. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

interface StoredAccount {
  name: string;
  role: Role;
  scram: { salt: string; iterations: number; storedKey: string; serverKey: string };
  /** AES-256-GCM under a key derived from the server secret: iv, tag, ciphertext in base64. */
  appPassword?: { iv: string; tag: string; data: string };
  created: string;
}

interface StoredFile {
  version: 1;
  accounts: StoredAccount[];
}

/**
 * Accounts in `<dataDir>/accounts.json` (mode 0600), replaced atomically on every change.
 * Reads are cached and taken again when the file changes, so accounts added by
 * `as-server user add` while the server runs apply to the next login.
 *
 * App passwords are sealed with a key derived from the server secret, so a copy of this file
 * alone (a backup) does not give them away; anyone who can read the whole data directory can
 * recover them, which is what "recoverable" means (docs/SECURITY.md).
 */
export class FileAccountStore implements AccountStore {
  readonly file: string;
  private readonly sealKey: Buffer;
  private cache: { key: string; accounts: Map<string, Account> } | undefined;

  constructor(dataDir: string, serverSecret: Buffer) {
    this.file = path.join(dataDir, ACCOUNTS_FILE);
    this.sealKey = Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), 'audiostream app-password seal', 32));
  }

  private async load(): Promise<Map<string, Account>> {
    let stat;
    try {
      stat = await fs.stat(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw this.failure('cannot read', err);
    }
    const key = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    if (this.cache?.key === key) return this.cache.accounts;
    if (stat.size > MAX_FILE_BYTES) throw new AudioStreamError('ACCOUNTS_FAILED', `${this.file} is larger than ${MAX_FILE_BYTES} bytes: it is not an accounts file`);
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      throw this.failure('cannot read', err);
    }
    const accounts = this.parse(text);
    this.cache = { key, accounts };
    return accounts;
  }

  private failure(what: string, err: unknown): AudioStreamError {
    return new AudioStreamError('ACCOUNTS_FAILED', `${what} ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }

  private parse(text: string): Map<string, Account> {
    const bad = (why: string): AudioStreamError => new AudioStreamError('ACCOUNTS_FAILED', `${this.file} is damaged (${why}): restore it from a backup, or remove it and add the users again`);
    let value: StoredFile;
    try {
      value = JSON.parse(text) as StoredFile;
    } catch {
      throw bad('not JSON');
    }
    if (value?.version !== 1 || !Array.isArray(value.accounts)) throw bad('no version 1 account list');
    const accounts = new Map<string, Account>();
    for (const a of value.accounts) {
      if (typeof a?.name !== 'string' || !ROLES.includes(a.role) || typeof a.scram !== 'object' || a.scram === null) throw bad('an account lacks name, role or keys');
      const scram: ScramCredential = {
        salt: Buffer.from(String(a.scram.salt), 'base64'),
        iterations: Number(a.scram.iterations),
        storedKey: Buffer.from(String(a.scram.storedKey), 'base64'),
        serverKey: Buffer.from(String(a.scram.serverKey), 'base64'),
      };
      if (scram.storedKey.length !== 32 || scram.serverKey.length !== 32 || scram.salt.length < 8 || !Number.isInteger(scram.iterations)) throw bad(`the keys of "${a.name}" are malformed`);
      const account: Account = { name: a.name, role: a.role, scram, created: String(a.created) };
      if (a.appPassword) account.appPassword = this.unseal(a.appPassword, a.name);
      accounts.set(a.name, account);
    }
    return accounts;
  }

  private seal(secret: string): StoredAccount['appPassword'] {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv);
    const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
  }

  private unseal(sealed: NonNullable<StoredAccount['appPassword']>, name: string): string {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealKey, Buffer.from(sealed.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      // Not the message of the crypto error: it says nothing more, and nothing secret may leak.
      throw new AudioStreamError('ACCOUNTS_FAILED', `the app password of "${name}" cannot be opened (the server secret changed?): set it again with user passwd --app-password`);
    }
  }

  private async save(accounts: Map<string, Account>): Promise<void> {
    const stored: StoredFile = {
      version: 1,
      accounts: [...accounts.values()].map((a) => ({
        name: a.name,
        role: a.role,
        scram: {
          salt: a.scram.salt.toString('base64'),
          iterations: a.scram.iterations,
          storedKey: a.scram.storedKey.toString('base64'),
          serverKey: a.scram.serverKey.toString('base64'),
        },
        ...(a.appPassword === undefined ? {} : { appPassword: this.seal(a.appPassword) }),
        created: a.created,
      })),
    };
    try {
      await writePrivateFileAtomic(this.file, `${JSON.stringify(stored, null, 2)}\n`);
    } catch (err) {
      throw this.failure('cannot write', err);
    }
    this.cache = undefined;
  }

  async hasAccounts(): Promise<boolean> {
    return (await this.load()).size > 0;
  }

  async find(name: string): Promise<Account | undefined> {
    return (await this.load()).get(name);
  }

  async list(): Promise<AccountSummary[]> {
    return [...(await this.load()).values()]
      .map((a) => ({ name: a.name, role: a.role, hasAppPassword: a.appPassword !== undefined, created: a.created }))
      .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  }

  async add(account: Account): Promise<void> {
    const accounts = new Map(await this.load());
    if (accounts.has(account.name)) throw new AudioStreamError('ACCOUNTS_FAILED', `there is already a user "${account.name}" (change the password with user passwd)`);
    accounts.set(account.name, account);
    await this.save(accounts);
  }

  async update(name: string, change: Partial<Pick<Account, 'role' | 'scram' | 'appPassword'>> & { removeAppPassword?: boolean }): Promise<void> {
    const accounts = new Map(await this.load());
    const account = accounts.get(name);
    if (!account) throw new AudioStreamError('ACCOUNTS_FAILED', `there is no user "${name}" (see user list)`);
    const next: Account = { ...account };
    if (change.role) next.role = change.role;
    if (change.scram) next.scram = change.scram;
    if (change.appPassword !== undefined) next.appPassword = change.appPassword;
    if (change.removeAppPassword) delete next.appPassword;
    accounts.set(name, next);
    await this.save(accounts);
  }

  async remove(name: string): Promise<boolean> {
    const accounts = new Map(await this.load());
    if (!accounts.delete(name)) return false;
    await this.save(accounts);
    return true;
  }
}
