/**
 * The database's web sessions (session-store.ts) on a real SQLite file: what is stored, and
 * the migration from the schema that kept each session's CSRF token in plain text.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { SESSION_COOKIE, SqliteSessionStore, WEB_SESSIONS_COMPONENT, WEB_SESSIONS_MIGRATIONS, csrfTokenFor } from '../../src/http/index.js';
import { ServerDatabase } from '../../src/library/index.js';

const withCookie = (token: string): IncomingMessage => ({ headers: { cookie: `${SESSION_COOKIE}=${token}` } }) as IncomingMessage;

test('no CSRF token is stored: it is derived from the cookie token, which is stored only as its SHA-256', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'as-sessions-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const database = ServerDatabase.open(dir);
  t.after(() => database.close());
  const store = new SqliteSessionStore(database);
  const { token, session } = store.create({ name: 'ann', role: 'listener' });
  assert.equal(session.csrfToken, csrfTokenFor(token));
  assert.notEqual(session.csrfToken, csrfTokenFor(store.create({ name: 'ann', role: 'listener' }).token), 'each session its own');
  assert.equal(store.find(withCookie(token))?.session.csrfToken, session.csrfToken);
  // Every value as text (a BLOB as hex), so nothing escapes the search below.
  const rows = (database.db.prepare('SELECT * FROM web_sessions').raw(true).all() as unknown[][])
    .flat()
    .map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : String(v)))
    .join('\n');
  assert.ok(!rows.includes(session.csrfToken) && !rows.includes(token));
  assert.ok(rows.includes(createHash('sha256').update(token).digest('hex')));
});

test('a database with the old sessions table (CSRF token in plain text) is migrated: the column goes, logins survive', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'as-sessions-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const token = 'A'.repeat(43);
  const old = ServerDatabase.open(dir, { components: { [WEB_SESSIONS_COMPONENT]: WEB_SESSIONS_MIGRATIONS.slice(0, 1) } });
  old.db
    .prepare('INSERT INTO web_sessions (token_hash, user_name, role, csrf_token, credential_stamp, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(createHash('sha256').update(token).digest(), 'ann', 'listener', 'the-old-plain-csrf-token', null, Date.now() + 3_600_000);
  old.close();

  const database = ServerDatabase.open(dir);
  t.after(() => database.close());
  const store = new SqliteSessionStore(database);
  const columns = (database.db.prepare("SELECT name FROM pragma_table_info('web_sessions')").pluck().all() as string[]);
  assert.ok(!columns.includes('csrf_token'), `columns: ${columns.join(', ')}`);
  const found = store.find(withCookie(token));
  assert.deepEqual(found?.session.user, { name: 'ann', role: 'listener' });
  assert.equal(found?.session.csrfToken, csrfTokenFor(token));
});
