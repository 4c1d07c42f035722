/**
 * Names of 250 to 255 bytes (the longest a Linux filesystem takes) can be saved, and an
 * interrupted transfer of one resumes (docs/SECURITY.md, "Nothing incomplete sits at a
 * final name"). Their partial file cannot be `.NAME.part`, six bytes longer than the name:
 * it has a short hashed name instead.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalLibrary } from '../../src/client/index.js';
import { getReplyBytes, sha256Hex, startHostileServer, v2ListBytes, v2Record, type HostileServer } from '../doubles/hostile-server.js';
import { makeTempDir, removeDir, sha256File } from '../client/support/files.js';
import { clientArgs, describeRun, runClient } from '../client/support/run-client.js';
import { assertErrorLines, assertLibraryFiles, assertNoStackTrace, assertSentinelEmpty, makePlace } from './support/checks.js';
import { startServerProcess, waitForListing, type ServerProcess } from './support/server-process.js';

/** A name of exactly `bytes` UTF-8 bytes ending in `.wav`, built from `unit`. */
function nameOf(bytes: number, unit: string): string {
  let stem = '';
  while (Buffer.byteLength(stem + unit) + 4 <= bytes) stem += unit;
  while (Buffer.byteLength(stem) + 4 < bytes) stem += 'x';
  const name = `${stem}.wav`;
  assert.equal(Buffer.byteLength(name), bytes);
  return name;
}

const LONG_NAMES = [nameOf(249, 'a'), nameOf(250, 'b'), nameOf(251, 'c'), nameOf(254, 'd'), nameOf(255, 'e'), nameOf(255, 'é'), `Folder ${'f'.repeat(240)}/${nameOf(255, 'g')}`];

let work: string;
before(async () => {
  work = await makeTempDir('long-names');
});
after(async () => {
  await removeDir(work);
});

describe('a real as-server serving files whose names are 249 to 255 bytes long', () => {
  let serverDir: string;
  let server: ServerProcess;

  before(async () => {
    serverDir = path.join(work, 'server');
    for (const [i, name] of LONG_NAMES.entries()) {
      await fsp.mkdir(path.dirname(path.join(serverDir, name)), { recursive: true });
      await fsp.writeFile(path.join(serverDir, name), randomBytes(2000 + i));
    }
    server = await startServerProcess(serverDir);
    await waitForListing(server.port, 'every file', (records) => records.length === LONG_NAMES.length);
  });
  after(async () => {
    await server?.stop();
  });

  test('get all saves every one, verified, and leaves no partial file', { timeout: 30_000 }, async () => {
    const place = await makePlace(work, 'get-all');
    const result = await runClient(clientArgs(server.port, place.library, 'true'), 'get all\n');
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(result.stderr, '', describeRun(result));
    assert.match(result.stdout, new RegExp(`^${LONG_NAMES.length} saved, 0 already there, 0 failed$`, 'm'));
    await assertLibraryFiles(place, LONG_NAMES);
    for (const name of LONG_NAMES) assert.equal(await sha256File(path.join(place.library, name)), await sha256File(path.join(serverDir, name)), name);
    await assertSentinelEmpty(place);
  });
});

describe('hostile-server double (v2): a transfer of a 255-byte name cut off half way resumes', () => {
  const NAME = nameOf(255, 'é');
  const FILE = randomBytes(64 * 1024);
  const HALF = 30_000;
  let double: HostileServer;

  before(async () => {
    double = await startHostileServer({
      version: 2,
      list2: (ctx) => void ctx.write(v2ListBytes([v2Record(NAME, FILE.length)])),
      get: (req, ctx) => {
        // The first GET sends half the file and closes; later ones send what is asked for.
        if (ctx.count === 0) ctx.end(getReplyBytes(FILE, req.offset).subarray(0, `OK ${FILE.length} 0 ${FILE.length}\r\n`.length + HALF));
        else void ctx.write(getReplyBytes(FILE, req.offset));
      },
      info: (p, ctx) => void ctx.write(`OK ${v2Record(p, FILE.length, { sha256: sha256Hex(FILE) })}\r\n`),
    });
  });
  after(async () => {
    await double?.close();
  });

  test('the partial file is kept under a short name, recognised by info, and the next get resumes it', { timeout: 30_000 }, async () => {
    const place = await makePlace(work, 'resume');
    const first = await runClient(clientArgs(double.port, place.library, 'true'), 'get 0\n');
    assert.equal(first.code, 1, describeRun(first));
    assertErrorLines(first, [/^error: the server closed the connection after 30000 of 65536 bytes$/]);
    const left = await fsp.readdir(place.library);
    assert.equal(left.length, 1, `one partial file: ${JSON.stringify(left)}`);
    assert.ok(left[0]!.startsWith('.') && Buffer.byteLength(left[0]!) <= 255, `a hidden partial file that fits: ${left[0]}`);
    assert.equal((await fsp.stat(path.join(place.library, left[0]!))).size, HALF);

    const second = await runClient(clientArgs(double.port, place.library, 'true'), 'info 0\nget 0\n');
    assert.equal(second.code, 0, describeRun(second));
    assertNoStackTrace(second);
    assert.match(second.stdout, /^local copy: +partial \(30\.0 kB so far; get 0 resumes\)$/m, describeRun(second));
    assert.match(second.stdout, /^saved .*, resumed at 30\.0 kB, verified\)$/m, describeRun(second));
    assert.ok(double.requestLines().includes(`GET ${JSON.stringify(NAME)} ${HALF}`), `the second GET asked from byte ${HALF}: ${double.requestLines().join(' | ')}`);
    await assertLibraryFiles(place, [NAME]);
    assert.ok((await fsp.readFile(path.join(place.library, NAME))).equals(FILE));
    assert.deepEqual(await fsp.readdir(place.library), [NAME], 'no partial file left behind');
  });
});

describe('LocalLibrary.temporaryPathFor', () => {
  test('.NAME.part while it fits in 255 bytes, then a short hashed name that always fits and differs per name', () => {
    assert.equal(LocalLibrary.temporaryPathFor(`/lib/${nameOf(249, 'a')}`), `/lib/.${nameOf(249, 'a')}.part`);
    const names = [nameOf(250, 'b'), nameOf(255, 'b'), nameOf(255, 'é'), `${'é'.repeat(120)}${'z'.repeat(11)}.wav`, `${'é'.repeat(120)}${'y'.repeat(11)}.wav`];
    const partials = names.map((n) => path.basename(LocalLibrary.temporaryPathFor(`/lib/dir/${n}`)));
    for (const [i, p] of partials.entries()) {
      assert.ok(Buffer.byteLength(p) <= 255, `${p} fits`);
      assert.match(p, /^\..+~[0-9a-f]{16}\.partial$/, 'hidden, and never the .part of another name');
      assert.ok(!p.includes('\ufffd'), 'no character was cut in half');
      assert.equal(LocalLibrary.temporaryPathFor(`/lib/dir/${names[i]}`), `/lib/dir/${p}`, 'the same name every time (resume finds it)');
    }
    assert.equal(new Set(partials).size, partials.length, 'two long names with the same start get two partial files');
  });
});
