/**
 * `as-server user ...` run as real processes on a real data directory, and the accounts it
 * makes used end to end: a real as-server with --data and a real as-client with -u.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deriveScramCredential } from '../../src/protocol/index.js';
import { TEST_CACHE_HOME } from '../client/support/paths.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER_BIN = path.join(REPO_ROOT, 'bin', 'as-server');
const CLIENT_BIN = path.join(REPO_ROOT, 'bin', 'as-client');
const SAMPLE_LIBRARY = path.join(REPO_ROOT, 'sample-library');

const dirs: string[] = [];
const children: ReturnType<typeof spawn>[] = [];
after(async () => {
  children.forEach((c) => c.kill('SIGKILL'));
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'audiostream-users-'));
  dirs.push(d);
  return d;
}

function user(args: string[], input = ''): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [SERVER_BIN, 'user', ...args], { input, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A real as-server on a free loopback port, once its start-up lines (up to `ready`) are out. */
async function startServer(data: string, ready: RegExp): Promise<{ port: number; log: () => string }> {
  const server = spawn(process.execPath, [SERVER_BIN, '-p', '0', '--host', '127.0.0.1', '--http-port', '0', '-l', SAMPLE_LIBRARY, '--data', data], { stdio: 'pipe' });
  children.push(server);
  let stderr = '';
  server.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line: ${stderr}`)), 15_000);
    server.once('exit', (code) => reject(new Error(`as-server exited (${code}): ${stderr}`)));
    server.stderr.on('data', () => {
      const m = /on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m && ready.test(stderr)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { port, log: () => stderr };
}

/** Runs as-client against `port` with `list` on its input. */
function client(port: number) {
  return (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const c = spawn(process.execPath, [CLIENT_BIN, '-a', '127.0.0.1', '-p', String(port), ...args], { env: { ...process.env, XDG_CACHE_HOME: TEST_CACHE_HOME, ...env }, stdio: 'pipe' });
      children.push(c);
      let out = '';
      let err = '';
      c.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
      c.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
      c.stdin.end('list\n');
      c.once('exit', (code) => resolve({ code, out, err }));
    });
}

describe('as-server user', () => {
  test('add, list, passwd, remove; the password comes from standard input and is stored only as keys', { timeout: 60_000 }, async () => {
    const data = await tempDir();
    const add = user(['add', 'ann', '--data', data, '--role', 'admin'], 'pencil-secret\n');
    assert.equal(add.code, 0, add.err);
    assert.match(add.out, /added user ann \(admin\): the server now asks v2 clients to log in/);
    assert.equal(user(['add', 'bob', '--data', data], 'bob-pass\n').code, 0);
    assert.equal(user(['list', '--data', data]).out, 'ann\tadmin\nbob\tlistener\n');
    const again = user(['add', 'ann', '--data', data], 'x\n');
    assert.equal(again.code, 2);
    assert.match(again.err, /already a user "ann"/);
    const passwd = user(['passwd', 'bob', '--data', data, '--app-password'], 'new-pass\n');
    assert.equal(passwd.code, 0, passwd.err);
    const app = /app password for bob \(for Subsonic apps; shown once\): (\S+)/.exec(passwd.out)?.[1];
    assert.ok(app && app.length >= 20);
    assert.equal(user(['list', '--data', data]).out, 'ann\tadmin\nbob\tlistener\tapp-password\n');
    const database = path.join(data, 'library.sqlite');
    assert.equal((await fs.stat(database)).mode & 0o777, 0o600);
    const bytes = Buffer.concat(await Promise.all([database, `${database}-wal`].map((f) => fs.readFile(f).catch(() => Buffer.alloc(0))))).toString('latin1');
    assert.ok(bytes.includes('bob'), 'the accounts are in the database');
    for (const secret of ['pencil-secret', 'bob-pass', 'new-pass', app]) assert.ok(!bytes.includes(secret), `${secret} is in the database`);
    assert.ok(!(await fs.readdir(data)).includes('accounts.json'), 'no accounts file of its own');
    assert.equal(user(['remove', 'bob', '--data', data]).code, 0);
    assert.match(user(['remove', 'bob', '--data', data]).err, /no user "bob"/);
    const last = user(['list', '--data', data]);
    assert.equal(last.out, 'ann\tadmin\n', last.err);
  });

  test('a password on the command line, an empty one, a bad role or name are refused', { timeout: 30_000 }, async () => {
    const data = await tempDir();
    assert.match(user(['add', 'ann', 'pencil', '--data', data], 'pencil\n').err, /takes one NAME/);
    assert.match(user(['add', 'ann', '--data', data], '\n').err, /the password is empty/);
    assert.match(user(['add', 'ann', '--data', data, '--role', 'root'], 'p\n').err, /--role must be admin or listener/);
    assert.match(user(['add', 'a\u0001b', '--data', data], 'p\n').err, /cannot be a user name/);
    assert.match(user(['frobnicate', '--data', data]).err, /unknown user command/);
    assert.equal(user(['list', '--data', data]).out, 'no accounts: the server lets everyone in (see docs/SECURITY.md)\n');
  });

  test('end to end: as-server --data with an account, as-client -u with AS_PASSWORD', { timeout: 60_000 }, async () => {
    const data = await tempDir();
    assert.equal(user(['add', 'ann', '--data', data], 'pencil\n').code, 0);
    const { port, log } = await startServer(data, /1 account\(s\): v2 requires a login/);
    const run = client(port);
    const ok = await run(['-u', 'ann'], { AS_PASSWORD: 'pencil' });
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /Short Beep/);
    const pwFile = path.join(data, 'pw');
    await fs.writeFile(pwFile, 'pencil\n', { mode: 0o600 });
    assert.match((await run(['-u', 'ann', '--password-file', pwFile])).out, /Short Beep/);
    const wrong = await run(['-u', 'ann'], { AS_PASSWORD: 'crayon' });
    assert.equal(wrong.code, 2);
    assert.equal(wrong.err, 'as-client: login failed: wrong user name or password\n');
    const none = await run([]);
    assert.match(none.err, /log in first/);
    assert.ok(!none.out.includes('Short Beep'));
    const noPassword = await run(['-u', 'ann'], { AS_PASSWORD: '' });
    assert.match(noPassword.err, /no password for ann: set AS_PASSWORD or pass --password-file/);
    assert.ok(!log().includes('pencil') && !log().includes('crayon'), 'no password in the server log');
  });
  test('user add while the server runs: its very next connection must log in; user remove opens it again', { timeout: 60_000 }, async () => {
    const data = await tempDir();
    const { port, log } = await startServer(data, /no accounts: everyone who can reach the port is served/);
    const run = client(port);
    assert.match((await run([])).out, /Short Beep/, 'no accounts: served without a login');
    const add = user(['add', 'ann', '--data', data], 'pencil\n');
    assert.equal(add.code, 0, add.err);
    const refused = await run([]);
    assert.match(refused.err, /log in first/);
    assert.ok(!refused.out.includes('Short Beep'));
    assert.match((await run(['-u', 'ann'], { AS_PASSWORD: 'pencil' })).out, /Short Beep/);
    assert.equal(user(['passwd', 'ann', '--data', data], 'crayon\n').code, 0);
    assert.equal((await run(['-u', 'ann'], { AS_PASSWORD: 'pencil' })).code, 2, 'the old password stops working at once');
    assert.match((await run(['-u', 'ann'], { AS_PASSWORD: 'crayon' })).out, /Short Beep/);
    assert.equal(user(['remove', 'ann', '--data', data]).code, 0);
    assert.match((await run([])).out, /Short Beep/, 'no accounts left: served without a login again');
    assert.ok(!log().includes('pencil') && !log().includes('crayon'), 'no password in the server log');
  });

  test('a data directory from before the database: accounts.json is imported once, at the first start', { timeout: 60_000 }, async () => {
    const data = await tempDir();
    const keys = deriveScramCredential('pencil', { iterations: 4096 });
    const old = {
      version: 1,
      accounts: [{ name: 'ann', role: 'admin', created: '2026-01-01T00:00:00.000Z', scram: { salt: keys.salt.toString('base64'), iterations: keys.iterations, storedKey: keys.storedKey.toString('base64'), serverKey: keys.serverKey.toString('base64') } }],
    };
    await fs.writeFile(path.join(data, 'accounts.json'), JSON.stringify(old), { mode: 0o600 });
    const { port, log } = await startServer(data, /1 account\(s\): v2 requires a login/);
    assert.equal(log().match(/imported 1 account\(s\) from \S*accounts\.json into \S*library\.sqlite; the file is now accounts\.json\.imported-\S+/g)?.length, 1, log());
    const files = await fs.readdir(data);
    assert.ok(!files.includes('accounts.json') && files.some((f) => f.startsWith('accounts.json.imported-')), files.join(' '));
    const run = client(port);
    assert.match((await run([])).err, /log in first/);
    assert.match((await run(['-u', 'ann'], { AS_PASSWORD: 'pencil' })).out, /Short Beep/);
    const list = user(['list', '--data', data]);
    assert.equal(list.out, 'ann\tadmin\n');
    assert.equal(list.err, '', 'nothing imported a second time');
  });
});

describe('a data directory whose accounts database was lost', () => {
  test('a damaged database set aside never brings the server back up open to everyone; adding a user again, or removing the mark, decides', { timeout: 60_000 }, async () => {
    const data = await tempDir();
    assert.equal(user(['add', 'ann', '--data', data], 'pencil-secret\n').code, 0);
    await fs.access(path.join(data, 'accounts-exist'));
    // Damage the database: the server sets it aside (as it must) and rebuilds it empty.
    await fs.writeFile(path.join(data, 'library.sqlite'), Buffer.alloc(8192, 0x5a));
    for (const suffix of ['-wal', '-shm']) await fs.rm(path.join(data, `library.sqlite${suffix}`), { force: true });
    const refused = spawnSync(process.execPath, [SERVER_BIN, '-p', '0', '--host', '127.0.0.1', '--http-port', '0', '-l', SAMPLE_LIBRARY, '--data', data], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /had accounts, but its database has none .*not starting open to everyone/);
    assert.doesNotMatch(refused.stderr, /serving \d+ files/);
    assert.ok((await fs.readdir(data)).some((f) => f.startsWith('library.sqlite.corrupt-')), 'the damaged file is kept aside');

    // The operator adds the user again: the server starts, and asks for a login.
    assert.equal(user(['add', 'ann', '--data', data], 'pencil-again\n').code, 0);
    const { port } = await startServer(data, /account\(s\): v2 requires a login/);
    const anonymous = await client(port)(['--protocol', 'v2']);
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.err, /log in|AUTH_REQUIRED|-u USER/i);
    const ann = await client(port)(['-u', 'ann'], { AS_PASSWORD: 'pencil-again' });
    assert.equal(ann.code, 0, ann.err);

    // Removing the last user clears the mark: the server then serves everyone, as it says.
    assert.equal(user(['remove', 'ann', '--data', data]).code, 0);
    await assert.rejects(fs.access(path.join(data, 'accounts-exist')));
  });
});

describe('the web page logs in with the same accounts', () => {
  test('a user made by `user add` logs in on the web port; a wrong password and no session are refused', { timeout: 60_000 }, async () => {
    const data = await tempDir();
    assert.equal(user(['add', 'ann', '--data', data], 'pencil-secret\n').code, 0);
    const net = await import('node:net');
    const httpPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const server = spawn(process.execPath, [SERVER_BIN, '-p', '0', '--host', '127.0.0.1', '--http-port', String(httpPort), '-l', SAMPLE_LIBRARY, '--data', data], { stdio: 'pipe' });
    children.push(server);
    let log = '';
    server.stderr.setEncoding('utf8').on('data', (t: string) => (log += t));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no web line: ${log}`)), 15_000);
      server.stderr.on('data', () => {
        if (/web player on http:/.test(log) && /account\(s\)/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const base = `http://127.0.0.1:${httpPort}`;
    const login = (password: string) =>
      fetch(`${base}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'ann', password }) });
    assert.equal((await fetch(`${base}/api/artists`)).status, 401, 'no session, no library');
    const wrong = await login('not-the-password');
    assert.equal(wrong.status, 401);
    const right = await login('pencil-secret');
    assert.equal(right.status, 200, await right.clone().text());
    const cookie = right.headers.get('set-cookie')!.split(';')[0]!;
    assert.equal((await fetch(`${base}/api/artists`, { headers: { Cookie: cookie } })).status, 200);
    assert.doesNotMatch(log, /pencil-secret|not-the-password/, 'no password in the log');
  });
});
