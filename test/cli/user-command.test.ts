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
    const file = await fs.readFile(path.join(data, 'accounts.json'), 'utf8');
    for (const secret of ['pencil-secret', 'bob-pass', 'new-pass', app]) assert.ok(!file.includes(secret), `${secret} is in accounts.json`);
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
    const server = spawn(process.execPath, [SERVER_BIN, '-p', '0', '--host', '127.0.0.1', '-l', SAMPLE_LIBRARY, '--data', data], { stdio: 'pipe' });
    children.push(server);
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start-up line: ${stderr}`)), 15_000);
      server.stderr.on('data', () => {
        const m = /on 127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m && /1 account\(s\): v2 requires a login/.test(stderr)) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const c = spawn(process.execPath, [CLIENT_BIN, '-a', '127.0.0.1', '-p', String(port), ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
        children.push(c);
        let out = '';
        let err = '';
        c.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
        c.stderr.setEncoding('utf8').on('data', (t: string) => (err += t));
        c.stdin.end('list\n');
        c.once('exit', (code) => resolve({ code, out, err }));
      });
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
    assert.ok(!stderr.includes('pencil') && !stderr.includes('crayon'), 'no password in the server log');
  });
});
