import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir, sha256File, writeRandomLibrary } from './support/files.js';
import { indexesByPath, startServer, unusedPort, type RunningServer } from './support/loopback-server.js';
import { CLIENT_BIN } from './support/paths.js';
import { python, runInPty, screenAt } from './support/pty.js';
import { clientArgs, describeRun, runClient } from './support/run-client.js';

/**
 * The shell a person expects, with the real CLI against a real server: quoted names, folders
 * matched like find, ls, did-you-mean, examples naming the command typed, plurals, the
 * summary of a multi-file get, refused empty flags, --version, a library that cannot be made;
 * and under a REAL pseudo-terminal: history across sessions, Tab, Ctrl-C, the exit status.
 */
describe('the shell a person expects', () => {
  let work: string;
  let server: RunningServer;
  let indexes: Map<string, number>;
  const FILES = { 'Émilie Ölund/Song.wav': 3000, 'Émilie Ölund/Other.wav': 2000, 'Solo/One.wav': 1000 };

  before(async () => {
    work = await makeTempDir('usability');
    await writeRandomLibrary(path.join(work, 'server'), FILES);
    server = await startServer(path.join(work, 'server'));
    indexes = await indexesByPath(server.port);
  });
  after(async () => {
    await server.close();
    await removeDir(work);
  });

  const args = (lib: string): string[] => clientArgs(server.port, path.join(work, lib), 'true');

  test('get "émilie ölund" (quoted, case and accents ignored) saves that folder; ls shows folders with correct plurals', { timeout: 20_000 }, async () => {
    const run = await runClient(args('lib-quoted'), 'get "émilie ölund"\nls\nls solo\n');
    assert.equal(run.code, 0, describeRun(run));
    for (const p of ['Émilie Ölund/Song.wav', 'Émilie Ölund/Other.wav']) {
      assert.equal(await sha256File(path.join(work, 'lib-quoted', p)), await sha256File(path.join(work, 'server', p)));
    }
    assert.match(run.stdout, /^2 saved, 0 already there, 0 failed$/m);
    assert.match(run.stdout, /^ {3}Solo\/ {2}\(1 file\)$/m);
    assert.match(run.stdout, /^ {3}Émilie Ölund\/ {2}\(2 files\)$/m);
    assert.match(run.stdout, new RegExp(`^${indexes.get('Solo/One.wav')}  One\\.wav$`, 'm'));
  });

  test('a typo gets "did you mean"; a wrong argument names the command typed in its example', { timeout: 20_000 }, async () => {
    const run = await runClient(args('lib-typo'), 'lsit\nstream\ninfo x\nplay\n');
    assert.equal(run.code, 1, describeRun(run));
    assert.deepEqual(run.stderr.split('\n').filter(Boolean), [
      'error: unknown command "lsit": did you mean list? (type help for the list)',
      'error: give one file number, as shown by list (for example: stream 3)',
      'error: give one file number, as shown by list (for example: info 3)',
      'error: say which files: play 3, play 3 5 7, play 3-9, play all, or play FOLDER',
    ]);
  });

  test('a line ending in a space (as Tab leaves a finished number) runs as typed, with no empty argument', { timeout: 20_000 }, async () => {
    const run = await runClient(args('lib-space'), `info ${indexes.get('Solo/One.wav')} \nget ${indexes.get('Solo/One.wav')} \n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^saved Solo\/One\.wav /m);
    assert.equal(run.stderr, '');
  });

  test('a multi-file get whose one file fails names it in the summary', { timeout: 20_000 }, async () => {
    const lib = path.join(work, 'lib-fail');
    // A directory where Solo/One.wav would go: that file cannot be saved.
    await fsp.mkdir(path.join(lib, 'Solo', 'One.wav'), { recursive: true });
    const run = await runClient(args('lib-fail'), 'get all\n');
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stdout, /^2 saved, 0 already there, 1 failed: Solo\/One\.wav$/m);
    assert.equal(run.stderr.split('\n').filter(Boolean).length, 1, run.stderr);
  });

  test('-l "" and -a "" are refused; --version says the version', { timeout: 20_000 }, async () => {
    const emptyLib = await runClient(['-a', '127.0.0.1', '-p', String(server.port), '-l', ''], 'list\n');
    assert.equal(emptyLib.code, 2, describeRun(emptyLib));
    assert.equal(emptyLib.stderr, 'as-client: -l needs a directory: -l DIR (it was empty)\n');
    const emptyHost = await runClient(['-a', '', '-p', String(server.port)], 'list\n');
    assert.equal(emptyHost.code, 2, describeRun(emptyHost));
    assert.equal(emptyHost.stderr, 'as-client: -a needs a host name or address: -a HOST (it was empty)\n');
    const version = await runClient(['--version'], '');
    const pkg = JSON.parse(await fsp.readFile(path.join(CLIENT_BIN, '..', '..', 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout, `as-client ${pkg.version}\n`);
  });

  test('-l /proc/forbidden fails at once with one clear line (it used to retry mkdir forever)', { timeout: 20_000 }, async () => {
    const run = await runClient(['-a', '127.0.0.1', '-p', String(server.port), '-l', '/proc/forbidden', '--player', 'true'], `get ${indexes.get('Solo/One.wav')}\n`, { timeoutMs: 5_000 });
    assert.equal(run.code, 1, describeRun(run));
    assert.equal(run.stderr, 'error: cannot create the library directory /proc/forbidden: no directory can be made there: pick another library with -l DIR\n');
  });

  test('on a terminal: history across sessions, Tab completes a quoted folder, Ctrl-C clears the line, quit exits 0 after a failure', { skip: python ? false : 'python3 with pty is needed', timeout: 60_000 }, async () => {
    const state = path.join(work, 'state');
    const command = ['env', `XDG_STATE_HOME=${state}`, process.execPath, CLIENT_BIN, ...args('lib-pty')];
    const first = await runInPty([{ wait: 'as> ' }, { type: 'ls solo\r', gap_ms: 5 }, { wait: 'One.wav' }, { type: 'quit\r' }, { wait_exit: true }], command);
    assert.equal(first.error, null, first.error ?? '');
    assert.equal(first.exit, 0);
    const history = await fsp.readFile(path.join(state, 'audiostream', 'history'), 'utf8');
    assert.equal(history, 'ls solo\nquit\n');

    const second = await runInPty(
      [
        { wait: 'as> ' },
        { type: 'lsit\r', gap_ms: 5 },
        { wait: 'did you mean list?' },
        // Up three times: this session's "lsit", then the last session's "quit" and "ls solo".
        { type: '\x1b[A\x1b[A\x1b[A', gap_ms: 50 },
        { sleep_ms: 300 },
        { mark: 'recalled' },
        { type: '\x03', gap_ms: 50 },
        { sleep_ms: 300 },
        { mark: 'cleared' },
        { type: 'list\r', gap_ms: 5 },
        { wait: 'Song.wav' },
        { type: 'get ém', gap_ms: 20 },
        { type: '\t', gap_ms: 50 },
        { sleep_ms: 300 },
        { mark: 'completed' },
        { type: '\x03', gap_ms: 50 },
        { type: 'quit\r', gap_ms: 5 },
        { wait_exit: true },
      ],
      command,
    );
    assert.equal(second.error, null, second.error ?? '');
    assert.equal(screenAt(second, 'recalled').lines().at(-1), 'as> ls solo');
    const cleared = screenAt(second, 'cleared');
    assert.equal(cleared.lines().at(-1), 'as>');
    assert.equal(cleared.col, 'as> '.length);
    assert.equal(screenAt(second, 'completed').lines().at(-1), 'as> get "Émilie Ölund"');
    assert.equal(second.exit, 0, 'an interactive quit exits 0 even after a failed command');
  });

  test('on a terminal the start says where the shell is; a server that is down is reported before the first command', { skip: python ? false : 'python3 with pty is needed', timeout: 60_000 }, async () => {
    const up = await runInPty([{ wait: 'as> ' }, { mark: 'start' }, { type: 'quit\r' }, { wait_exit: true }], [process.execPath, CLIENT_BIN, ...args('lib-start')]);
    assert.equal(up.error, null, up.error ?? '');
    assert.deepEqual(screenAt(up, 'start').lines(), [`connected to 127.0.0.1:${server.port} (audiostream v2, 3 files)`, 'as>']);
    const port = await unusedPort();
    const down = await runInPty([{ wait: 'as> ' }, { mark: 'start' }, { type: 'quit\r' }, { wait_exit: true }], [process.execPath, CLIENT_BIN, ...clientArgs(port, path.join(work, 'lib-down'), 'true')]);
    assert.equal(down.error, null, down.error ?? '');
    const lines = screenAt(down, 'start').lines();
    // One line (wrapped at 80 columns), then the prompt.
    assert.equal(lines.at(-1), 'as>', lines.join('\n'));
    assert.match(lines.slice(0, -1).join(''), new RegExp(`^error: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`));
  });

  test('a port where a web server answers is "not an audio-stream server"', { timeout: 20_000 }, async () => {
    const web = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const { port } = web.address() as AddressInfo;
    try {
      const run = await runClient(clientArgs(port, path.join(work, 'lib-http'), 'true'), 'list\n');
      assert.equal(run.code, 1, describeRun(run));
      assert.equal(run.stderr, `error: 127.0.0.1:${port} is not an audio-stream server (it answers HTTP): check the address and port\n`);
    } finally {
      web.closeAllConnections();
      await new Promise((resolve) => web.close(resolve));
    }
  });
});
