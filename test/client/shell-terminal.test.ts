import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { quote } from 'shell-quote';
import { ClientConnection } from '../../src/client/index.js';
import { makeTempDir, removeDir } from './support/files.js';
import { startServer, type RunningServer } from './support/loopback-server.js';
import { CLIENT_BIN } from './support/paths.js';
import { python, runInPty, screenAt } from './support/pty.js';

/**
 * The real as-client on a REAL pseudo-terminal, playing through REAL mpv (--ao=null) from a
 * real server: the now-playing line is kept up to date above the prompt from what mpv
 * says, and never garbles what the user is typing.
 */
const mpvInstalled = spawnSync('mpv', ['--version'], { stdio: 'ignore' }).status === 0;
const ffmpegInstalled = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
const skip = !python ? 'python3 with pty is needed' : !mpvInstalled || !ffmpegInstalled ? 'mpv and ffmpeg are needed' : false;

const PLAYER = 'mpv --no-config --no-video --msg-level=all=error --ao=null';
const STATUS = /^Long Tone — Test Tones {3}0:\d\d \/ 0:30 {3}\[1\/1\]$/;

describe('as-client on a terminal, playing in the background', { skip }, () => {
  let work: string;
  let server: RunningServer;

  before(async () => {
    work = await makeTempDir('shell-terminal');
    const dir = path.join(work, 'server');
    await fsp.mkdir(dir, { recursive: true });
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=30', '-ac', '2', '-metadata', 'title=Long Tone', '-metadata', 'artist=Test Tones', path.join(dir, 'long.flac')]);
    assert.equal(r.status, 0, String(r.stderr));
    server = await startServer(dir);
    // The server reads tags after it starts listing: wait until it shows them.
    for (let i = 0; i < 300; i++) {
      const c = new ClientConnection({ host: '127.0.0.1', port: server.port });
      const { entries } = await c.list().finally(() => c.close());
      if (entries[0]?.title) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  after(async () => {
    await server.close();
    await removeDir(work);
  });

  test('the now-playing line moves with mpv above the prompt; typed input and output stay intact', { timeout: 60_000 }, async () => {
    const run = await runInPty(
      [
        { wait: 'as> ' },
        { type: 'play 0\r', gap_ms: 10 },
        { wait: ' / 0:30' },
        { type: 'li', gap_ms: 60 },
        // Two redraws after the last key: the line has been drawn over the typed input twice.
        { wait_new: ' / 0:30', count: 2 },
        { mark: 'typed' },
        { type: 'st\r', gap_ms: 20 },
        { wait: 'Long Tone — Test Tones  (0:30)' },
        { wait_new: ' / 0:30', count: 2 },
        { mark: 'after' },
        { type: 'pause\r', gap_ms: 10 },
        { wait: 'paused   [1/1]' },
        { mark: 'paused' },
        { type: 'quit\r', gap_ms: 10 },
        { wait_exit: true },
        { mark: 'end' },
      ],
      [process.execPath, CLIENT_BIN, '-a', '127.0.0.1', '-p', String(server.port), '-l', path.join(work, 'lib'), '--player', quote(PLAYER.split(' '))],
    );
    assert.equal(run.error, null, `${run.error}\n${run.output}`);

    const typed = screenAt(run, 'typed');
    const t = typed.lines();
    assert.equal(t.at(-1), 'as> li', t.join('\n'));
    assert.match(t.at(-2)!, STATUS, t.join('\n'));
    assert.deepEqual([typed.row, typed.col], [t.length - 1, 'as> li'.length], 'the cursor is where the user typed');
    assert.equal(t.filter((l) => STATUS.test(l)).length, 1, 'one status line, never a trail of them');

    const a = screenAt(run, 'after').lines();
    const listed = a.indexOf('as> list');
    assert.ok(listed >= 0, a.join('\n'));
    assert.equal(a[listed + 1], '0  Long Tone — Test Tones  (0:30)');
    assert.match(a[listed + 2]!, STATUS);
    assert.equal(a[listed + 3], 'as>');
    assert.equal(a.filter((l) => STATUS.test(l)).length, 1, a.join('\n'));

    const p = screenAt(run, 'paused').lines();
    assert.match(p.at(-2)!, /^Long Tone — Test Tones {3}0:\d\d \/ 0:30 {3}paused {3}\[1\/1\]$/, p.join('\n'));

    const end = screenAt(run, 'end').lines();
    assert.equal(end.filter((l) => / \/ 0:30/.test(l)).length, 0, 'quit removes the status line');
  });
  test('an error while the now-playing line shows goes to standard error (redirected here), and the screen stays whole', { timeout: 60_000 }, async () => {
    const errors = path.join(work, 'stderr.txt');
    const client = quote([process.execPath, CLIENT_BIN, '-a', '127.0.0.1', '-p', String(server.port), '-l', path.join(work, 'lib-err'), '--player', quote(PLAYER.split(' '))]);
    const run = await runInPty(
      [
        { wait: 'as> ' },
        { type: 'play 0\r', gap_ms: 10 },
        { wait: ' / 0:30' },
        { type: 'lsit\r', gap_ms: 10 },
        { wait_new: ' / 0:30', count: 2 },
        { mark: 'after' },
        { type: 'quit\r', gap_ms: 10 },
        { wait_exit: true },
      ],
      ['sh', '-c', `exec ${client} 2>${quote([errors])}`],
    );
    assert.equal(run.error, null, `${run.error}\n${run.output}`);
    assert.equal(await fsp.readFile(errors, 'utf8'), 'error: unknown command "lsit": did you mean list? (type help for the list)\n');
    const a = screenAt(run, 'after').lines();
    assert.ok(!a.some((l) => /unknown command/.test(l)), a.join('\n'));
    const typed = a.indexOf('as> lsit');
    assert.ok(typed >= 0, a.join('\n'));
    assert.match(a[typed + 1]!, STATUS, a.join('\n'));
    assert.equal(a[typed + 2], 'as>');
    assert.equal(a.filter((l) => STATUS.test(l)).length, 1, a.join('\n'));
  });
});
