import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Migration, ServerDatabase } from '../library/index.js';
import { MAX_SESSIONS, SESSION_COOKIE, SESSION_LIFETIME_MS, cookieValue, csrfTokenFor, newSessionToken, type Session, type WebSessionStore } from './sessions.js';
import type { WebUser } from './web-authenticator.js';

/** The web sessions' component name in `schema_versions`. */
export const WEB_SESSIONS_COMPONENT = 'websessions';

/** The web sessions' schema, one step per version; a released step is never edited. */
export const WEB_SESSIONS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'web sessions: the SHA-256 of the cookie token, the user, the CSRF token, expiry',
    up(db) {
      db.exec(`
        CREATE TABLE web_sessions (
          -- Only the token's hash: a copy of the database opens no session.
          token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
          user_name TEXT NOT NULL,
          role TEXT NOT NULL,
          csrf_token TEXT NOT NULL,
          -- What the user's credential was at login (web-authenticator.ts): a password change
          -- or the user's removal changes it, which ends the session.
          credential_stamp TEXT,
          expires_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX web_sessions_user ON web_sessions (user_name);
        CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
      `);
    },
  },
  {
    version: 2,
    description: 'the CSRF token is derived from the cookie token, no longer stored',
    up(db) {
      // A page loaded before this step holds the old token: its next change is refused
      // (403) and a reload fetches the derived one. Logins themselves survive.
      db.exec('ALTER TABLE web_sessions DROP COLUMN csrf_token');
    },
  },
];

interface SessionRow {
  user_name: string;
  role: string;
  credential_stamp: string | null;
  expires_at: number;
}

function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Web sessions in the `web_sessions` table of the server database, so a restart logs no one
 * out. The cookie's random 256-bit token is stored only as its SHA-256 (a token is unguessable,
 * so a fast hash suffices: the point is that reading the file gives no usable cookie). Expired
 * rows are removed as new sessions are made; at most MAX_SESSIONS are kept (the soonest to
 * expire goes first).
 */
export class SqliteSessionStore implements WebSessionStore {
  private readonly statements;
  private readonly now: () => number;

  constructor(database: ServerDatabase, now: () => number = Date.now) {
    this.now = now;
    database.migrate(WEB_SESSIONS_COMPONENT, WEB_SESSIONS_MIGRATIONS);
    const db = database.db;
    this.statements = {
      insert: db.prepare('INSERT INTO web_sessions (token_hash, user_name, role, credential_stamp, expires_at) VALUES (?, ?, ?, ?, ?)'),
      find: db.prepare('SELECT user_name, role, credential_stamp, expires_at FROM web_sessions WHERE token_hash = ?'),
      remove: db.prepare('DELETE FROM web_sessions WHERE token_hash = ?'),
      removeUser: db.prepare('DELETE FROM web_sessions WHERE user_name = ?'),
      purge: db.prepare('DELETE FROM web_sessions WHERE expires_at <= ?'),
      count: db.prepare('SELECT count(*) FROM web_sessions').pluck(),
      dropSoonest: db.prepare('DELETE FROM web_sessions WHERE token_hash IN (SELECT token_hash FROM web_sessions ORDER BY expires_at LIMIT ?)'),
    };
  }

  create(user: WebUser, credentialStamp?: string): { token: string; session: Session } {
    const now = this.now();
    this.statements.purge.run(now);
    const count = this.statements.count.get() as number;
    if (count >= MAX_SESSIONS) this.statements.dropSoonest.run(count - MAX_SESSIONS + 1);
    const token = newSessionToken();
    const session: Session = { user, csrfToken: csrfTokenFor(token), expiresAt: now + SESSION_LIFETIME_MS, ...(credentialStamp === undefined ? {} : { credentialStamp }) };
    this.statements.insert.run(tokenHash(token), user.name, user.role, credentialStamp ?? null, session.expiresAt);
    return { token, session };
  }

  find(req: IncomingMessage): { token: string; session: Session } | undefined {
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    // A token is 43 base64url characters; anything else is no session (and never hashed at length).
    if (token === undefined || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const row = this.statements.find.get(tokenHash(token)) as SessionRow | undefined;
    if (!row) return undefined;
    if (row.expires_at <= this.now()) {
      this.remove(token);
      return undefined;
    }
    const session: Session = { user: { name: row.user_name, role: row.role }, csrfToken: csrfTokenFor(token), expiresAt: row.expires_at };
    if (row.credential_stamp !== null) session.credentialStamp = row.credential_stamp;
    return { token, session };
  }

  remove(token: string): void {
    this.statements.remove.run(tokenHash(token));
  }

  removeUser(name: string): void {
    this.statements.removeUser.run(name);
  }
}
