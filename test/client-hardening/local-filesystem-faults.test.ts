/**
 * Local filesystem faults while saving from the hostile-server double (which here serves
 * honest bytes: the trouble is on our side): a full disk, a library that is a file, a file
 * in the way of a directory, a path too long for the filesystem, and a read-only library.
 * Each must be one clear line that says what to do, nothing at the final name, and a
 * shell that goes on.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getReplyBytes, startHostileServer, v1ListBytes, v1StreamBytes, v2ListBytes, v2Record, type HostileScript, type HostileServer } from '../doubles/hostile-server.js';
import { listFiles, makeTempDir, removeDir } from '../client/support/files.js';
import { CLIENT_BIN, TEST_CACHE_HOME } from '../client/support/paths.js';
import { clientArgs, describeRun, runClient, type ClientRun } from '../client/support/run-client.js';
import { assertErrorLines, assertLibraryFiles, assertSentinelEmpty, makePlace } from './support/checks.js';

const GOOD = randomBytes(3000);
// Big enough that the server is still sending when the first write fails.
const BIG = randomBytes(8 * 1024 * 1024);
const DEEP = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(240)}`).join('/') + '/deep.wav';
const PATHS = ['good.wav', 'Album/big.wav', DEEP];
const BODIES = [GOOD, BIG, GOOD];

function double(version: 1 | 2): HostileScript {
  return version === 1
    ? {
        version: 1,
        list: (ctx) => void ctx.write(v1ListBytes(PATHS)),
        stream: (index, ctx) => void ctx.write(v1StreamBytes(BODIES[index]!)),
      }
    : {
        version: 2,
        list2: (ctx) => void ctx.write(v2ListBytes(PATHS.map((p, i) => v2Record(p, BODIES[i]!.length)))),
        get: (req, ctx) => void ctx.write(getReplyBytes(BODIES[PATHS.indexOf(req.path)]!, req.offset)),
      };
}

let work: string;
const doubles = new Map<1 | 2, HostileServer>();
before(async () => {
  work = await makeTempDir('local-faults');
  for (const v of [1, 2] as const) doubles.set(v, await startHostileServer(double(v)));
});
after(async () => {
  for (const d of doubles.values()) await d.close();
  await removeDir(work);
});

for (const version of [1, 2] as const) {
  describe(`hostile-server double (v${version}), disk full (the folder is a 1 MiB tmpfs, in a private mount namespace)`, () => {
    test('get: "the disk is full", nothing at the final name, no .part, and the next get on the session works', { timeout: 20_000 }, async (t) => {
      // Regression: the failed write left the reply "in progress" on a paused socket, so
      // every later command failed with "a request is already in progress" and a stack trace.
      const place = await makePlace(work, `full-v${version}`);
      await fsp.mkdir(path.join(place.library, 'Album'), { recursive: true });
      // A real full filesystem: 'Album' is a 1 MiB tmpfs and big.wav is 8 MiB. The mount
      // exists only inside `unshare -m`, so what is left in it is listed from inside.
      const mountFull = 'mount -t tmpfs -o size=1m tmpfs "$0/Album"';
      const probe = await runUnshared(['sh', '-c', mountFull, place.library], '');
      if (probe.code !== 0) {
        t.skip(`a tmpfs mount in a private namespace is not possible here (unshare/mount exit ${probe.code}: ${probe.stderr.trim().split('\n')[0] ?? ''})`);
        return;
      }
      const run = await runUnshared(
        ['sh', '-c', `${mountFull} && { "$@"; status=$?; echo "left in Album: [$(ls -A "$0/Album")]"; exit $status; }`, place.library, process.execPath, CLIENT_BIN, ...clientArgs(doubles.get(version)!.port, place.library, 'true')],
        'get 1\nget 0\n',
      );
      assert.equal(run.code, 1, describeRun(run));
      assertErrorLines(run, [/^error: cannot write .*Album\/big\.wav: the disk is full: free some space and try again$/]);
      assert.match(run.stdout, /^saved good\.wav /m, 'the next get worked');
      assert.match(run.stdout, /^left in Album: \[\]$/m, 'nothing at the final name, and no .part');
      await assertLibraryFiles(place, ['good.wav']);
    });
  });
}

describe('hostile-server double (v2), a library that cannot be a directory', () => {
  test('-l naming a regular file: a clear error, the file untouched, and the shell goes on', { timeout: 20_000 }, async () => {
    // Regression: the message ended in a bare "EEXIST".
    const place = await makePlace(work, 'library-is-file');
    await fsp.writeFile(place.library, 'my notes');
    const run = await runClient(clientArgs(doubles.get(2)!.port, place.library, 'true'), 'get 0\nlist\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: cannot use .*library as the library: it is a file, not a directory \(pass -l DIR\)$/]);
    assert.match(run.stdout, /^0 {2}good\.wav$/m, 'the next command ran');
    assert.equal(await fsp.readFile(place.library, 'utf8'), 'my notes');
    await assertSentinelEmpty(place);
  });

  test('-l below a regular file: a clear error', { timeout: 20_000 }, async () => {
    const place = await makePlace(work, 'library-below-file');
    await fsp.writeFile(place.library, 'my notes');
    const run = await runClient(clientArgs(doubles.get(2)!.port, path.join(place.library, 'music'), 'true'), 'get 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: cannot create the library directory .*music: a file is in the way of a directory on that path$/]);
  });

  test('a FILE in the library named like the server\'s folder: a clear error, the file untouched, the next get works', { timeout: 20_000 }, async () => {
    const place = await makePlace(work, 'file-in-the-way');
    await fsp.mkdir(place.library);
    await fsp.writeFile(path.join(place.library, 'Album'), 'mine');
    const since = doubles.get(2)!.requests.length;
    const run = await runClient(clientArgs(doubles.get(2)!.port, place.library, 'true'), 'get 1\nget 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: cannot save into .*library\/Album: a file with that name is in the way$/]);
    await assertLibraryFiles(place, ['Album', 'good.wav']);
    assert.equal(await fsp.readFile(path.join(place.library, 'Album'), 'utf8'), 'mine');
    assert.ok(!doubles.get(2)!.requestLines().slice(since).includes('GET "Album/big.wav" 0'), 'nothing was fetched for it');
  });

  test('a path longer than the filesystem allows (20 components of 242 bytes): a clear error, no file written', { timeout: 20_000 }, async () => {
    const place = await makePlace(work, 'path-max');
    const run = await runClient(clientArgs(doubles.get(2)!.port, place.library, 'true'), 'get 2\nget 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: cannot create .*: the name is too long for this filesystem$/]);
    await assertLibraryFiles(place, ['good.wav']);
    await assertSentinelEmpty(place);
  });
});

describe('hostile-server double (v2), a read-only library (tests run as root, so permission bits do not stop writes)', () => {
  test('an immutable library directory (chattr +i): "permission denied", nothing written', { timeout: 20_000 }, async (t) => {
    const place = await makePlace(work, 'immutable');
    await fsp.mkdir(path.join(place.library, 'Album'), { recursive: true });
    try {
      execFileSync('chattr', ['-R', '+i', place.library], { stdio: 'pipe' });
    } catch (err) {
      t.skip(`chattr +i is not available here: ${String((err as Error).message).split('\n')[0]}`);
      return;
    }
    let run: ClientRun;
    try {
      // The big file first: its unread reply must not stall the session (regression).
      run = await runClient(clientArgs(doubles.get(2)!.port, place.library, 'true'), 'get 1\nget 0\n');
    } finally {
      execFileSync('chattr', ['-R', '-i', place.library]);
    }
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [
      /^error: cannot write .*Album\/\.big\.wav\.part: permission denied: pick a library you can write with -l DIR$/,
      /^error: cannot write .*\.good\.wav\.part: permission denied: pick a library you can write with -l DIR$/,
    ]);
    assert.deepEqual(await listFiles(place.library), []);
    await assertSentinelEmpty(place);
  });

  test('a read-only bind mount (in a private mount namespace): "the filesystem is read-only", nothing written', { timeout: 20_000 }, async (t) => {
    const place = await makePlace(work, 'read-only-mount');
    await fsp.mkdir(path.join(place.library, 'Album'), { recursive: true });
    // The mount exists only inside `unshare -m` around the client, so nothing leaks if the test dies.
    const probe = await runUnshared(['sh', '-c', 'mount --bind -o ro "$0" "$0" && ! touch "$0/probe" 2>/dev/null', place.library], '');
    if (probe.code !== 0) {
      t.skip(`a read-only bind mount in a private namespace is not possible here (unshare/mount exit ${probe.code}: ${probe.stderr.trim().split('\n')[0] ?? ''})`);
      return;
    }
    const run = await runUnshared(
      ['sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', place.library, process.execPath, CLIENT_BIN, ...clientArgs(doubles.get(2)!.port, place.library, 'true')],
      'get 1\nget 0\n',
    );
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [
      /^error: cannot write .*Album\/\.big\.wav\.part: the filesystem is read-only: pick another library with -l DIR$/,
      /^error: cannot write .*\.good\.wav\.part: the filesystem is read-only: pick another library with -l DIR$/,
    ]);
    assert.deepEqual(await listFiles(place.library), []);
    await assertSentinelEmpty(place);
  });
});

/** Runs `argv` under `unshare -m` (a private mount namespace) with `input` on stdin. */
function runUnshared(argv: string[], input: string): Promise<ClientRun> {
  return new Promise((resolve) => {
    const child = spawn('unshare', ['-m', '--propagation', 'private', ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_CACHE_HOME: TEST_CACHE_HOME } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ stdout, stderr: `${stderr}${err.message}`, code: 127, signal: null });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
