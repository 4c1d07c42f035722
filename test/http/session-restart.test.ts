/**
 * Web sessions in the server database (src/http/session-store.ts): a login survives a real
 * as-server restart on the same data directory; the database holds only a hash of each
 * token; logout, `as-server user passwd` and `user remove` (run as separate processes while the
 * server runs) end the user's sessions; a session expires. Real program, real accounts made
 * by `as-server user add`, real SQLite file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ServerDatabase } from '../../src/library/index.js';
import { SESSION_LIFETIME_MS, SqliteSessionStore } from '../../src/http/index.js';
import { ServerProcess, freePort } from '../library/support/server-process.js';
import { REPO_ROOT, SAMPLE_LIBRARY } from '../client/support/paths.js';
import { request } from './support/web-harness.js';

const SERVER_BIN = path.join(REPO_ROOT, 'bin', 'as-server');
const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'as-web-sessions-'));
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop().catch(() => {});
  await fsp.rm(scratch, { recursive: true, force: true });
});

function user(args: string[], input: string): void {
  const r = spawnSync(process.execPath, [SERVER_BIN, 'user', ...args], { input, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
}

async function startServer(data: string, httpPort: number): Promise<ServerProcess> {
  const server = await ServerProcess.start(SAMPLE_LIBRARY, data, '--http-port', String(httpPort));
  servers.push(server);
  await server.waitForLog(/web player on http:/);
  return server;
}

describe('web sessions in the server database', () => {
  test('a login survives a restart; only token hashes are stored; logout, passwd and remove end sessions', { timeout: 120_000 }, async () => {
    const data = path.join(scratch, 'data');
    user(['add', 'ann', '--data', data], 'pencil-secret\n');
    user(['add', 'bob', '--data', data], 'crayon-secret\n');
    const port = await freePort();
    let server = await startServer(data, port);

    const login = async (name: string, password: string): Promise<{ cookie: string; token: string; csrf: string }> => {
      const res = await request(port, '/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }) });
      assert.equal(res.status, 200, res.body.toString());
      const cookie = res.headers['set-cookie']![0]!.split(';')[0]!;
      return { cookie, token: cookie.split('=')[1]!, csrf: JSON.parse(res.body.toString()).csrfToken };
    };
    const status = async (cookie: string) => (await request(port, '/api/artists', { headers: { Cookie: cookie } })).status;
    const ann1 = await login('ann', 'pencil-secret');
    const ann2 = await login('ann', 'pencil-secret');
    const bob = await login('bob', 'crayon-secret');
    const logout = await request(port, '/api/logout', { method: 'POST', headers: { Cookie: ann2.cookie, 'Content-Type': 'application/json', 'X-CSRF-Token': ann2.csrf, Origin: `http://127.0.0.1:${port}` }, body: '{}' });
    assert.equal(logout.status, 200, logout.body.toString());
    assert.equal(await status(ann2.cookie), 401, 'logged out');

    await server.stop();
    server = await startServer(data, port);
    assert.equal(await status(ann1.cookie), 200, 'the login survived the restart');
    assert.equal(await status(bob.cookie), 200);
    assert.equal(await status(ann2.cookie), 401, 'the logout survived the restart too');
    const session = JSON.parse((await request(port, '/api/session', { headers: { Cookie: ann1.cookie } })).body.toString());
    assert.deepEqual({ user: session.user, csrfToken: session.csrfToken }, { user: { name: 'ann', role: 'listener' }, csrfToken: ann1.csrf });

    const db = new Database(path.join(data, 'library.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const hashes = (db.prepare('SELECT token_hash FROM web_sessions').pluck().all() as Buffer[]).map((b) => b.toString('hex'));
      assert.equal(hashes.length, 2);
      for (const { token } of [ann1, bob]) assert.ok(hashes.includes(createHash('sha256').update(token).digest('hex')));
      const everything = JSON.stringify(db.prepare('SELECT * FROM web_sessions').all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64url') : v));
      for (const { token } of [ann1, ann2, bob]) assert.ok(!everything.includes(token), 'no token in the table');
      for (const { csrf } of [ann1, ann2, bob]) assert.ok(!everything.includes(csrf), 'no CSRF token in the table');
    } finally {
      db.close();
    }

    user(['passwd', 'ann', '--data', data], 'new-pencil\n');
    assert.equal(await status(ann1.cookie), 401, 'a password change ends the user\'s sessions');
    assert.equal(await status(bob.cookie), 200, 'and no one else\'s');
    await login('ann', 'new-pencil');
    user(['remove', 'bob', '--data', data], '');
    assert.equal(await status(bob.cookie), 401, 'removing the user ends the user\'s sessions');
  });

  test('a session expires SESSION_LIFETIME_MS after the login, and its row goes', () => {
    let now = 1_000_000;
    const database = ServerDatabase.inMemory();
    try {
      const store = new SqliteSessionStore(database, () => now);
      const { token } = store.create({ name: 'ann', role: 'listener' });
      const req = { headers: { cookie: `as_session=${token}` } } as unknown as import('node:http').IncomingMessage;
      now += SESSION_LIFETIME_MS - 1;
      assert.equal(store.find(req)?.session.user.name, 'ann');
      now += 1;
      assert.equal(store.find(req), undefined);
      assert.equal(database.db.prepare('SELECT count(*) FROM web_sessions').pluck().get(), 0);
    } finally {
      database.close();
    }
  });
});
