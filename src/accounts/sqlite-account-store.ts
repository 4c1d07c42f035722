import Database from 'better-sqlite3';
import type { Migration, ServerDatabase } from '../library/database.js';
import { AudioStreamError } from '../protocol/index.js';
import type { Account, AccountStore, AccountSummary, Role } from './account-store.js';
import { AppPasswordSeal, type SealedSecret } from './app-password-seal.js';

/** The accounts' component name in `schema_versions`. */
export const ACCOUNTS_COMPONENT = 'accounts';

/** The accounts' schema, one step per version; a released step is never edited. */
export const ACCOUNTS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'accounts: name, role, SCRAM keys, the sealed app password',
    up(db) {
      db.exec(`
        CREATE TABLE accounts (
          name TEXT PRIMARY KEY,
          role TEXT NOT NULL CHECK (role IN ('admin', 'listener')),
          -- SCRAM's salted keys only: no password, no SaltedPassword.
          scram_salt BLOB NOT NULL CHECK (length(scram_salt) >= 8),
          scram_iterations INTEGER NOT NULL CHECK (scram_iterations > 0),
          scram_stored_key BLOB NOT NULL CHECK (length(scram_stored_key) = 32),
          scram_server_key BLOB NOT NULL CHECK (length(scram_server_key) = 32),
          -- AES-256-GCM under a key derived from the server secret (app-password-seal.ts):
          -- all three or none.
          app_password_iv BLOB,
          app_password_tag BLOB,
          app_password_data BLOB,
          created TEXT NOT NULL,
          CHECK ((app_password_iv IS NULL) = (app_password_tag IS NULL) AND (app_password_iv IS NULL) = (app_password_data IS NULL))
        ) STRICT;
      `);
    },
  },
  {
    version: 2,
    description: "accounts: one API key per account, as its SHA-256 only (Subsonic's apiKey)",
    up(db) {
      db.exec(`
        CREATE TABLE api_keys (
          -- SHA-256 of a random 256-bit key: the key itself is shown once and never stored.
          hash BLOB PRIMARY KEY CHECK (length(hash) = 32),
          name TEXT NOT NULL UNIQUE,
          created TEXT NOT NULL
        ) STRICT;
      `);
    },
  },
];

/** An account as stored: its app password still sealed (how an import hands them over). */
export interface StoredAccount extends Omit<Account, 'appPassword'> {
  sealedAppPassword?: SealedSecret;
}

interface AccountRow {
  name: string;
  role: Role;
  scram_salt: Buffer;
  scram_iterations: number;
  scram_stored_key: Buffer;
  scram_server_key: Buffer;
  app_password_iv: Buffer | null;
  app_password_tag: Buffer | null;
  app_password_data: Buffer | null;
  created: string;
}

/**
 * Accounts in the `accounts` table of the server database (`<dataDir>/library.sqlite`, mode
 * 0600, WAL). Nothing is cached: every find, list and hasAccounts is one indexed query on a
 * small table, so an account that `as-server user add` commits from another process applies
 * to the server's very next login.
 */
export class SqliteAccountStore implements AccountStore {
  readonly database: ServerDatabase;
  private readonly seal: AppPasswordSeal;
  private readonly statements;

  constructor(database: ServerDatabase, serverSecret: Buffer) {
    this.database = database;
    this.seal = new AppPasswordSeal(serverSecret);
    database.migrate(ACCOUNTS_COMPONENT, ACCOUNTS_MIGRATIONS);
    const db = database.db;
    this.statements = {
      any: db.prepare('SELECT EXISTS (SELECT 1 FROM accounts) AS any').pluck(),
      find: db.prepare('SELECT * FROM accounts WHERE name = ?'),
      list: db.prepare(`SELECT name, role, app_password_data IS NOT NULL AS has_app_password,
        EXISTS (SELECT 1 FROM api_keys k WHERE k.name = accounts.name) AS has_api_key, created FROM accounts ORDER BY name`),
      insert: db.prepare(`
        INSERT INTO accounts (name, role, scram_salt, scram_iterations, scram_stored_key, scram_server_key, app_password_iv, app_password_tag, app_password_data, created)
        VALUES (@name, @role, @scram_salt, @scram_iterations, @scram_stored_key, @scram_server_key, @app_password_iv, @app_password_tag, @app_password_data, @created)`),
      update: db.prepare(`
        UPDATE accounts SET role = @role, scram_salt = @scram_salt, scram_iterations = @scram_iterations, scram_stored_key = @scram_stored_key,
          scram_server_key = @scram_server_key, app_password_iv = @app_password_iv, app_password_tag = @app_password_tag, app_password_data = @app_password_data
        WHERE name = @name`),
      remove: db.prepare('DELETE FROM accounts WHERE name = ?'),
      removeApiKey: db.prepare('DELETE FROM api_keys WHERE name = ?'),
      insertApiKey: db.prepare('INSERT INTO api_keys (hash, name, created) VALUES (?, ?, ?)'),
      findApiKey: db.prepare('SELECT name FROM api_keys WHERE hash = ?').pluck(),
    };
  }

  async hasAccounts(): Promise<boolean> {
    return this.query('read', () => this.statements.any.get() === 1);
  }

  async find(name: string): Promise<Account | undefined> {
    const row = this.query('read', () => this.statements.find.get(name) as AccountRow | undefined);
    if (!row) return undefined;
    const account: Account = {
      name: row.name,
      role: row.role,
      scram: { salt: row.scram_salt, iterations: row.scram_iterations, storedKey: row.scram_stored_key, serverKey: row.scram_server_key },
      created: row.created,
    };
    if (row.app_password_iv && row.app_password_tag && row.app_password_data) {
      account.appPassword = this.seal.unseal({ iv: row.app_password_iv, tag: row.app_password_tag, data: row.app_password_data }, row.name);
    }
    return account;
  }

  async list(): Promise<AccountSummary[]> {
    const rows = this.query('read', () => this.statements.list.all() as { name: string; role: Role; has_app_password: number; has_api_key: number; created: string }[]);
    return rows.map((r) => ({ name: r.name, role: r.role, hasAppPassword: r.has_app_password === 1, hasApiKey: r.has_api_key === 1, created: r.created }));
  }

  async add(account: Account): Promise<void> {
    const { appPassword, ...rest } = account;
    const stored: StoredAccount = { ...rest, ...(appPassword === undefined ? {} : { sealedAppPassword: this.seal.seal(appPassword) }) };
    this.query('write', () => {
      try {
        this.statements.insert.run(toRow(stored));
      } catch (err) {
        if (err instanceof Database.SqliteError && err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new AudioStreamError('ACCOUNTS_FAILED', `there is already a user "${account.name}" (change the password with user passwd)`);
        }
        throw err;
      }
    });
  }

  async update(name: string, change: Partial<Pick<Account, 'role' | 'scram' | 'appPassword'>> & { removeAppPassword?: boolean }): Promise<void> {
    const sealed = change.appPassword === undefined ? undefined : this.seal.seal(change.appPassword);
    this.query('write', () =>
      // Read and write in one transaction: a change made meanwhile by another process is
      // never overwritten with older fields.
      this.database.db.transaction(() => {
        const row = this.statements.find.get(name) as AccountRow | undefined;
        if (!row) throw new AudioStreamError('ACCOUNTS_FAILED', `there is no user "${name}" (see user list)`);
        const next: AccountRow = { ...row };
        if (change.role) next.role = change.role;
        if (change.scram) {
          next.scram_salt = change.scram.salt;
          next.scram_iterations = change.scram.iterations;
          next.scram_stored_key = change.scram.storedKey;
          next.scram_server_key = change.scram.serverKey;
        }
        if (sealed) Object.assign(next, { app_password_iv: sealed.iv, app_password_tag: sealed.tag, app_password_data: sealed.data });
        if (change.removeAppPassword) Object.assign(next, { app_password_iv: null, app_password_tag: null, app_password_data: null });
        this.statements.update.run(next);
      }).immediate(),
    );
  }

  async remove(name: string): Promise<boolean> {
    return this.query('write', () =>
      this.database.db.transaction(() => {
        this.statements.removeApiKey.run(name);
        return this.statements.remove.run(name).changes > 0;
      }).immediate(),
    );
  }

  async setApiKeyHash(name: string, hash: Buffer): Promise<void> {
    this.query('write', () =>
      this.database.db.transaction(() => {
        if (!this.statements.find.get(name)) throw new AudioStreamError('ACCOUNTS_FAILED', `there is no user "${name}" (see user list)`);
        this.statements.removeApiKey.run(name);
        this.statements.insertApiKey.run(hash, name, new Date().toISOString());
      }).immediate(),
    );
  }

  async removeApiKey(name: string): Promise<boolean> {
    return this.query('write', () => this.statements.removeApiKey.run(name).changes > 0);
  }

  async findByApiKeyHash(hash: Buffer): Promise<Account | undefined> {
    const name = this.query('read', () => this.statements.findApiKey.get(hash) as string | undefined);
    return name === undefined ? undefined : this.find(name);
  }

  /**
   * Adds all the accounts in one transaction if, and only if, there are none yet (two
   * processes importing at once import once). False when accounts already existed.
   */
  addAllIfEmpty(accounts: readonly StoredAccount[]): boolean {
    return this.query('write', () =>
      this.database.db.transaction(() => {
        if (this.statements.any.get() === 1) return false;
        for (const account of accounts) this.statements.insert.run(toRow(account));
        return true;
      }).immediate(),
    );
  }

  /** Runs one statement or transaction; SQLite's failures become one ACCOUNTS_FAILED line. */
  private query<T>(what: 'read' | 'write', run: () => T): T {
    try {
      return run();
    } catch (err) {
      if (err instanceof AudioStreamError) throw err;
      const detail = err instanceof Database.SqliteError ? err.code : (err as Error).message;
      throw new AudioStreamError('ACCOUNTS_FAILED', `cannot ${what} the accounts in ${this.database.file} (${detail})`, { cause: err });
    }
  }
}

function toRow(account: StoredAccount): AccountRow {
  return {
    name: account.name,
    role: account.role,
    scram_salt: account.scram.salt,
    scram_iterations: account.scram.iterations,
    scram_stored_key: account.scram.storedKey,
    scram_server_key: account.scram.serverKey,
    app_password_iv: account.sealedAppPassword?.iv ?? null,
    app_password_tag: account.sealedAppPassword?.tag ?? null,
    app_password_data: account.sealedAppPassword?.data ?? null,
    created: account.created,
  };
}
