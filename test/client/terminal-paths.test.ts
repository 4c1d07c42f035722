import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Library } from '../../src/library/index.js';
import { AudioServer, createServerTlsContext } from '../../src/server/index.js';
import { makeCertificates, type KeyPair } from '../security/support/certificates.js';
import { makeTempDir, removeDir, writeRandomLibrary } from './support/files.js';
import { startServer, type RunningServer } from './support/loopback-server.js';
import { CLIENT_BIN } from './support/paths.js';
import { python, runInPty, screenAt } from './support/pty.js';
import { clientArgs } from './support/run-client.js';

/**
 * Paths of the real as-client that only a terminal takes, run on a REAL pseudo-terminal
 * against a real server: Tab completion of file numbers, the trust-on-first-use question
 * for a self-signed certificate (real TLS, openssl-made), and a multi-file `get` whose
 * failures stay on screen above the progress bar.
 */
const skip = python ? false : 'python3 with pty is needed';

describe('on a terminal: Tab completes file numbers', { skip }, () => {
  let work: string;
  let server: RunningServer;

  before(async () => {
    work = await makeTempDir('terminal-numbers');
    const files: Record<string, number> = {};
    for (let i = 0; i < 12; i++) files[`Set/track-${String(i).padStart(2, '0')}.wav`] = 500;
    await writeRandomLibrary(path.join(work, 'server'), files);
    server = await startServer(path.join(work, 'server'));
  });
  after(async () => {
    await server.close();
    await removeDir(work);
  });

  test('a unique number is finished with a space; several are listed on a second Tab; the command then runs', { timeout: 60_000 }, async () => {
    const run = await runInPty(
      [
        { wait: 'as> ' },
        { type: 'list\r', gap_ms: 5 },
        { wait: 'track-11.wav' },
        { type: 'info 7', gap_ms: 20 },
        { type: '\t', gap_ms: 50 },
        { sleep_ms: 300 },
        { mark: 'unique' },
        { type: '\x03', gap_ms: 50 },
        { type: 'get 3 1', gap_ms: 20 },
        { type: '\t', gap_ms: 100 },
        { type: '\t', gap_ms: 50 },
        { sleep_ms: 300 },
        { mark: 'several' },
        { type: '1\t', gap_ms: 50 },
        { sleep_ms: 300 },
        { mark: 'narrowed' },
        { type: '\r', gap_ms: 5 },
        { wait: '2 saved' },
        { type: 'quit\r', gap_ms: 5 },
        { wait_exit: true },
      ],
      [process.execPath, CLIENT_BIN, ...clientArgs(server.port, path.join(work, 'lib'), 'true')],
    );
    assert.equal(run.error, null, `${run.error}\n${run.output}`);
    // The screen's lines drop trailing spaces: the cursor shows the space Tab added.
    const unique = screenAt(run, 'unique');
    assert.equal(unique.lines().at(-1), 'as> info 7');
    assert.equal(unique.col, 'as> info 7 '.length);
    const several = screenAt(run, 'several').lines();
    // readline lists the candidates under the line, then draws the line again.
    assert.ok(several.some((l) => /^1 +10 +11$/.test(l)), several.join('\n'));
    assert.equal(several.at(-1), 'as> get 3 1');
    const narrowed = screenAt(run, 'narrowed');
    assert.equal(narrowed.lines().at(-1), 'as> get 3 11');
    assert.equal(narrowed.col, 'as> get 3 11 '.length);
    assert.ok(await fsp.stat(path.join(work, 'lib', 'Set', 'track-11.wav')), 'get 3 11 ran and saved file 11');
    assert.equal(run.exit, 0);
  });
});

describe('on a terminal: the question for a self-signed certificate (real TLS)', { skip }, () => {
  let work: string;
  let pair: KeyPair;
  let port: number;
  let close: () => Promise<void>;

  before(async () => {
    work = await makeTempDir('terminal-tofu');
    pair = (await makeCertificates(await fsp.mkdtemp(path.join(work, 'certs-')))).selfSignedA;
    await writeRandomLibrary(path.join(work, 'server'), { 'a.wav': 1000 });
    const library = await Library.open(path.join(work, 'server'), { rescanIntervalMs: 0, readTags: false });
    const server = new AudioServer({ library, tls: createServerTlsContext(pair.cert, pair.key) });
    port = (await server.listen(0, '127.0.0.1')).port;
    close = async () => {
      await server.close();
      library.close();
    };
  });
  after(async () => {
    await close();
    await removeDir(work);
  });

  const client = (state: string): string[] => ['env', `XDG_STATE_HOME=${state}`, process.execPath, CLIENT_BIN, '--tls', ...clientArgs(port, path.join(work, 'lib'), 'true')];
  const QUESTION = 'Trust it from now on? (yes/no) ';

  test('answered yes: pinned (0600), the shell starts; the next start asks nothing', { timeout: 60_000 }, async () => {
    const state = path.join(work, 'state-yes');
    const first = await runInPty([{ wait: QUESTION }, { mark: 'asked' }, { type: 'yes\r', gap_ms: 5 }, { wait: 'as> ' }, { type: 'list\r', gap_ms: 5 }, { wait: 'a.wav' }, { type: 'quit\r' }, { wait_exit: true }], client(state));
    assert.equal(first.error, null, `${first.error}\n${first.output}`);
    // The question as printed (the screen wraps it at 80 columns): the fingerprint on its own line.
    const asked = first.output.slice(0, first.marks.find((m) => m.label === 'asked')!.offset);
    assert.match(asked, new RegExp(`^127\\.0\\.0\\.1:${port} presents a certificate no CA vouches for \\(self-signed\\), SHA-256 fingerprint\\r\\n {2}[0-9A-F:]{95}\\r\\nTrust it from now on\\? \\(yes/no\\) $`), asked);
    assert.match(first.output, /pinned the certificate of 127\.0\.0\.1:\d+ \(SHA-256 [0-9A-F:]{95}\) in .*known-servers\.json/);
    assert.equal(first.exit, 0);
    const pins = path.join(state, 'audiostream', 'known-servers.json');
    assert.equal((await fsp.stat(pins)).mode & 0o777, 0o600);
    assert.match(await fsp.readFile(pins, 'utf8'), new RegExp(`"127\\.0\\.0\\.1:${port}": "[0-9A-F:]{95}"`));

    const second = await runInPty([{ wait: 'as> ' }, { type: 'quit\r' }, { wait_exit: true }], client(state));
    assert.equal(second.error, null, second.error ?? '');
    assert.doesNotMatch(second.output, /Trust it/);
    assert.match(second.output, /connected to 127\.0\.0\.1:\d+ \(audiostream v2, 1 file\)/);
  });

  test('answered no: one line saying how to pin it, exit 1, nothing pinned, no shell', { timeout: 60_000 }, async () => {
    const state = path.join(work, 'state-no');
    const run = await runInPty([{ wait: QUESTION }, { type: 'no\r', gap_ms: 5 }, { wait_exit: true }], client(state));
    assert.equal(run.error, null, `${run.error}\n${run.output}`);
    assert.notEqual(run.exit, 0);
    assert.match(run.output, /\r\nas-client: 127\.0\.0\.1:\d+ presents a self-signed certificate, SHA-256 [0-9A-F:]{95}; compare it with the server's \(as-server prints it\) and pass --trust-new-server to pin it\r\n$/);
    assert.doesNotMatch(run.output, /as> /);
    assert.doesNotMatch(run.output, /    at /, 'no stack trace');
    await assert.rejects(fsp.stat(path.join(state, 'audiostream', 'known-servers.json')), { code: 'ENOENT' });
  });
});

describe('on a terminal: a multi-file get keeps each failure on screen', { skip }, () => {
  let work: string;
  let server: RunningServer;

  before(async () => {
    work = await makeTempDir('terminal-get');
    await writeRandomLibrary(path.join(work, 'server'), { 'A/one.wav': 300_000, 'A/two.wav': 300_000, 'A/three.wav': 300_000, 'B/four.wav': 300_000 });
    server = await startServer(path.join(work, 'server'));
  });
  after(async () => {
    await server.close();
    await removeDir(work);
  });

  test('one line per failed file with its reason above the bar; the summary names them', { timeout: 60_000 }, async () => {
    const lib = path.join(work, 'lib');
    // Directories where two of the files would go: those cannot be saved.
    await fsp.mkdir(path.join(lib, 'A', 'two.wav'), { recursive: true });
    await fsp.mkdir(path.join(lib, 'B', 'four.wav'), { recursive: true });
    const run = await runInPty([{ wait: 'as> ' }, { type: 'get all\r', gap_ms: 5 }, { wait: 'failed:' }, { sleep_ms: 300 }, { mark: 'done' }, { type: 'quit\r' }, { wait_exit: true }], [process.execPath, CLIENT_BIN, ...clientArgs(server.port, lib, 'true')]);
    assert.equal(run.error, null, `${run.error}\n${run.output}`);
    const lines = screenAt(run, 'done').lines();
    const at = lines.indexOf('as> get all');
    assert.ok(at >= 0, lines.join('\n'));
    // Rows filled to the last column are one line wrapped at 80 columns: join them again.
    const after = lines
      .slice(at + 1)
      .map((l) => (l.length === 80 ? l : `${l}\n`))
      .join('')
      .split('\n')
      .slice(0, -1);
    const failures = after.filter((l) => l.startsWith('error: '));
    assert.equal(failures.length, 2, after.join('\n'));
    // Every file has its own line, each on a row of its own (none written over the bar).
    assert.deepEqual(
      after.filter((l) => !l.startsWith('error: ')).slice(0, 2).map((l) => l.replace(/ \(.*\)$/, '')),
      ['saved A/one.wav', 'saved A/three.wav'],
      after.join('\n'),
    );
    assert.match(failures.find((l) => l.startsWith('error: A/two.wav')) ?? '', /^error: A\/two\.wav: cannot save .*A\/two\.wav.*(directory|EISDIR)/i, after.join('\n'));
    assert.match(failures.find((l) => l.includes('B/four.wav')) ?? '', /^error: .*B\/four\.wav/, after.join('\n'));
    assert.ok(after.some((l) => /^2 saved, 0 already there, 2 failed: A\/two\.wav, B\/four\.wav$/.test(l)), after.join('\n'));
    // The bar is gone once the summary is printed: no half-drawn bar left on the screen.
    assert.ok(!after.some((l) => /\[[█░]+\]/.test(l)), after.join('\n'));
    assert.equal(after.at(-1), 'as>');
  });
});
