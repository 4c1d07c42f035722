import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exists, listFiles, makeTempDir, removeDir, sha256File } from './support/files.js';
import { SAMPLE_LIBRARY } from './support/paths.js';
import { clientArgs, describeRun, runClient } from './support/run-client.js';
import { indexesByPath, randomLibraryServer, startServer, type RunningServer } from './support/loopback-server.js';

const NFD_NAME = 'Nfd/Cafe\u0301 Tune.wav'; // "é" as e + combining acute
const FILES: Record<string, number> = {
  'Artist One/Album Two/01 First Track.flac': 3 * 1024 * 1024 + 7,
  'Émilie/Café/02 Crème.mp3': 5 * 1024 * 1024 + 13,
  'top.wav': 1_000_001,
  'empty.ogg': 0,
  [NFD_NAME]: 4096,
  // Large enough for every path a big file takes: a background flush every 32 MiB, socket
  // read buffers recycled after their bytes are written (a buffer reused too early would
  // corrupt the file and fail the hash).
  'Big/large.flac': 40 * 1024 * 1024 + 3,
};

function localPath(library: string, remotePath: string): string {
  return path.join(library, ...remotePath.normalize('NFC').split('/'));
}

async function assertNoPartFiles(library: string): Promise<void> {
  const leftovers = (await listFiles(library)).filter((f) => f.endsWith('.part'));
  assert.deepEqual(leftovers, [], 'no temporary .part file is left behind');
}

async function modeOf(p: string): Promise<number> {
  return (await fsp.stat(p)).mode & 0o777;
}

describe('get N against a real AudioServer with generated random files', () => {
  const fx = randomLibraryServer('get', FILES);

  const indexOf = fx.indexOf;

  test('saves byte-identical files, creating the library (mode 0700) and subdirectories with the same bits', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'fresh', 'not', 'yet', 'library');
    const commands = Object.keys(FILES).map((p) => `get ${indexOf(p)}\n`).join('');
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), commands);
    assert.equal(run.code, 0, describeRun(run));
    for (const remote of Object.keys(FILES)) {
      const saved = localPath(library, remote);
      assert.equal(await sha256File(saved), await sha256File(path.join(fx.serverDir, remote)), `${remote} is byte-identical`);
      assert.match(run.stdout, new RegExp(`saved ${escape(remote)} \\(`), `stdout reports saving ${remote}`);
    }
    assert.equal(await modeOf(library), 0o700, 'the library directory is private');
    for (const dir of ['Artist One', 'Artist One/Album Two', 'Émilie', 'Émilie/Café', 'Nfd']) {
      assert.equal(await modeOf(path.join(library, dir)), 0o700, `${dir} has the library's mode`);
    }
    await assertNoPartFiles(library);
  });

  test('subdirectories copy the permission bits of an existing library (0750)', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'existing-0750');
    await fsp.mkdir(library);
    await fsp.chmod(library, 0o750);
    const remote = 'Artist One/Album Two/01 First Track.flac';
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), `get ${indexOf(remote)}\n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await modeOf(library), 0o750, 'an existing library keeps its mode');
    assert.equal(await modeOf(path.join(library, 'Artist One')), 0o750);
    assert.equal(await modeOf(path.join(library, 'Artist One', 'Album Two')), 0o750);
  });

  test('a name sent in NFD is saved under its NFC form', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'nfc');
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), `get ${indexOf(NFD_NAME)}\n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.deepEqual(await listFiles(library), ['Nfd/Caf\u00e9 Tune.wav']);
  });

  test('get of an index never listed fetches the list first (first command of a session)', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'unlisted');
    const remote = 'top.wav';
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), `get ${indexOf(remote)}\n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256File(path.join(library, remote)), await sha256File(path.join(fx.serverDir, remote)));
  });

  test('an empty file is saved as an empty file', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'empty');
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), `get ${indexOf('empty.ogg')}\n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal((await fsp.stat(path.join(library, 'empty.ogg'))).size, 0);
    await assertNoPartFiles(library);
  });

  test('a bad index or argument gives a clear error, the shell goes on, and the exit status is 1', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'bad-index');
    const count = fx.indexes.size;
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), `get ${count + 90}\nget abc\nget\nget ${indexOf('top.wav')}\n`);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, new RegExp(`no file ${count + 90}: the server has files 0 to ${count - 1}`));
    assert.match(run.stderr, /no file or folder "abc" on the server/);
    assert.match(run.stderr, /say which files: get 3/);
    assert.equal(run.stderr.match(/^error: /gm)?.length, 3, 'one error line per failed command');
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(await sha256File(path.join(library, 'top.wav')), await sha256File(path.join(fx.serverDir, 'top.wav')), 'the command after the errors worked');
  });

  test('get replaces an earlier copy and a stale .part file', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'replace');
    const remote = 'top.wav';
    await fsp.mkdir(library, { recursive: true });
    await fsp.writeFile(path.join(library, remote), 'an old, different copy');
    await fsp.writeFile(path.join(library, `.${remote}.part`), 'left over from a crash');
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), `get ${indexOf(remote)}\n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256File(path.join(library, remote)), await sha256File(path.join(fx.serverDir, remote)));
    await assertNoPartFiles(library);
  });

  test('a .part planted as a link to a file elsewhere is replaced, never written through', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'planted-link');
    const remote = 'top.wav';
    await fsp.mkdir(library, { recursive: true });
    const victim = path.join(fx.work, 'victim.txt');
    await fsp.writeFile(victim, 'must stay as it is');
    await fsp.symlink(victim, path.join(library, `.${remote}.part`));
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), `get ${indexOf(remote)}\n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await fsp.readFile(victim, 'utf8'), 'must stay as it is', 'the link target is untouched');
    assert.equal(await sha256File(path.join(library, remote)), await sha256File(path.join(fx.serverDir, remote)));
    await assertNoPartFiles(library);
  });

  test('a file in the way of a directory is a clear error, not a crash', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'in-the-way');
    await fsp.mkdir(library, { recursive: true });
    await fsp.writeFile(path.join(library, 'Artist One'), 'not a directory');
    const remote = 'Artist One/Album Two/01 First Track.flac';
    const run = await runClient(clientArgs(fx.server.port, library, 'true'), `get ${indexOf(remote)}\nget ${indexOf('top.wav')}\n`);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /error: cannot save into .*Artist One: a file with that name is in the way/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(await exists(path.join(library, 'top.wav')), 'the next command still works');
  });
});

describe('get N from the bundled sample library', () => {
  let work: string;
  let server: RunningServer;
  let indexes: Map<string, number>;

  before(async () => {
    work = await makeTempDir('get-sample');
    server = await startServer(SAMPLE_LIBRARY);
    indexes = await indexesByPath(server.port);
  });
  after(async () => {
    await server?.close();
    await removeDir(work);
  });

  test('every sample file is saved byte-identical at <library>/<path>', { timeout: 20_000 }, async () => {
    assert.equal(indexes.size, 10, 'the sample library has ten audio files');
    const library = path.join(work, 'library');
    const commands = [...indexes.values()].map((i) => `get ${i}\n`).join('');
    const run = await runClient(clientArgs(server.port, library, 'true'), commands);
    assert.equal(run.code, 0, describeRun(run));
    for (const remote of indexes.keys()) {
      assert.equal(await sha256File(localPath(library, remote)), await sha256File(path.join(SAMPLE_LIBRARY, remote)), remote);
    }
    assert.deepEqual(await listFiles(library), [...indexes.keys()].sort(), 'nothing else was written');
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
