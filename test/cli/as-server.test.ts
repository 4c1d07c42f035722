/**
 * The as-server command line, run as a real process: flags, start-up message, logging,
 * and the ways it stops (q + Enter, SIGINT, SIGTERM) and does not stop (end of stdin).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER_BIN = path.join(REPO_ROOT, 'bin', 'as-server');
const SAMPLE_LIBRARY = path.join(REPO_ROOT, 'sample-library');

interface RunningProcess {
  child: ChildProcessWithoutNullStreams;
  stderr(): string;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// Servers started here keep their database in a temporary data directory, not the user's.
const dataHome = fs.mkdtempSync(path.join(os.tmpdir(), 'audiostream-data-'));
process.env.XDG_DATA_HOME = dataHome;
after(() => fs.rmSync(dataHome, { recursive: true, force: true }));

const started: ChildProcessWithoutNullStreams[] = [];
after(() => started.forEach((c) => c.kill('SIGKILL')));

/** Starts bin/as-server on port 0 and resolves once it says where it listens. */
async function startServer(args: string[] = []): Promise<RunningProcess> {
  const child = spawn(process.execPath, [SERVER_BIN, '-p', '0', '--host', '127.0.0.1', '-l', SAMPLE_LIBRARY, ...args], { stdio: 'pipe' });
  started.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line; stderr: ${stderr}`)), 10_000);
    child.stderr.on('data', () => {
      const m = /serving \d+ files? from .* on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { child, stderr: () => stderr, port, exited };
}

function list(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (t: string) => (text += t));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.end('LIST\r\n');
  });
}

describe('as-server flags', () => {
  test('--help prints usage and exits 0', () => {
    const run = spawnSync(process.execPath, [SERVER_BIN, '--help'], { encoding: 'utf8' });
    assert.equal(run.status, 0);
    assert.match(run.stdout, /^Usage: as-server/);
    assert.match(run.stdout, /-l, --library DIR/);
  });

  test('a bad flag, a bad port and a missing library each give one line and exit 2', () => {
    for (const [args, pattern] of [
      [['--bogus'], /^as-server: Unknown option '--bogus' \(see --help\)\n$/],
      [['-p', 'http'], /^as-server: port must be a number from 0 to 65535, not "http"\n$/],
      [['-l', '/nonexistent/music'], /^as-server: library directory "\/nonexistent\/music" not found: create it or pass -l DIR\n$/],
      [['--require-tls'], /^as-server: --require-tls needs a certificate: pass --tls-cert FILE and --tls-key FILE too\n$/],
    ] as const) {
      const run = spawnSync(process.execPath, [SERVER_BIN, ...args], { encoding: 'utf8', input: '' });
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
    }
  });

  test('--data inside the library is refused with one line, and a missing library creates no data directory', () => {
    const inside = path.join(SAMPLE_LIBRARY, '.audiostream-data');
    let run = spawnSync(process.execPath, [SERVER_BIN, '-p', '0', '-l', SAMPLE_LIBRARY, '--data', inside], { encoding: 'utf8', input: '' });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /^as-server: --data .* is inside the library: the server never writes into the music folder; pass a directory outside it\n$/);
    assert.equal(fs.existsSync(inside), false);
    const data = path.join(dataHome, 'never-made');
    run = spawnSync(process.execPath, [SERVER_BIN, '-l', '/nonexistent/music', '--data', data], { encoding: 'utf8', input: '' });
    assert.equal(run.status, 2, run.stderr);
    assert.equal(fs.existsSync(data), false);
  });

  test('a port already in use says so', { timeout: 20_000 }, async () => {
    const first = await startServer();
    const run = spawnSync(process.execPath, [SERVER_BIN, '-p', String(first.port), '--host', '127.0.0.1', '-l', SAMPLE_LIBRARY], { encoding: 'utf8', input: '' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, new RegExp(`port ${first.port} is already in use: stop the other server or pass -p PORT`));
    first.child.kill('SIGTERM');
    await first.exited;
  });
});

describe('as-server running', () => {
  test('serves the sample library and logs one line per connection and request; end of stdin does not stop it', { timeout: 20_000 }, async () => {
    const server = await startServer();
    server.child.stdin.end(); // as a service with stdin from /dev/null
    const listing = await list(server.port);
    assert.match(listing, /^9:Émilie Ölund\/Café Noir\/02 Crème Brûlée\.m4a\r\n/);
    assert.match(listing, /0:Aurora Tones\/First Light\/01 Sunrise\.flac\r\n$/);
    await new Promise((r) => setTimeout(r, 100));
    assert.match(server.stderr(), /127\.0\.0\.1:\d+ connected/);
    assert.match(server.stderr(), /127\.0\.0\.1:\d+ LIST 10 files, \d+ bytes in \d+ ms/);
    assert.match(server.stderr(), /127\.0\.0\.1:\d+ disconnected after 1 requests, \d+ bytes in \d+ ms/);
    assert.equal(server.child.exitCode, null, 'still running after end of input');
    server.child.kill('SIGTERM');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    assert.match(server.stderr(), /stopping \(SIGTERM\)/);
  });

  test('q + Enter stops it cleanly', { timeout: 20_000 }, async () => {
    const server = await startServer();
    server.child.stdin.write('q\n');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
  });

  test('SIGINT stops it cleanly', { timeout: 20_000 }, async () => {
    const server = await startServer();
    server.child.kill('SIGINT');
    assert.deepEqual(await server.exited, { code: 0, signal: null });
  });

  test('--quiet logs no line per connection', { timeout: 20_000 }, async () => {
    const server = await startServer(['--quiet']);
    await list(server.port);
    await new Promise((r) => setTimeout(r, 100));
    assert.doesNotMatch(server.stderr(), /connected|LIST/);
    server.child.kill('SIGTERM');
    await server.exited;
  });
});
