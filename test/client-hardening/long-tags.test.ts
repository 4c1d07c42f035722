/**
 * One long tag must not make the whole library unusable (docs/SECURITY.md, "Every length is
 * limited"). A real as-server process serves a real FLAC file (made by ffmpeg) whose title
 * is 9,000 characters, so its LIST2 record and its INFO line are far over 8,192 bytes: list,
 * get and info must all work. A LIST2 line is still limited (1 MiB): the hostile-server
 * double sends one of exactly 1 MiB (taken) and one a byte longer (refused in one line, and
 * the next command works).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { getReplyBytes, startHostileServer, v2ListBytes, v2Record, type HostileServer } from '../doubles/hostile-server.js';
import { makeTempDir, removeDir, sha256File } from '../client/support/files.js';
import { clientArgs, describeRun, runClient } from '../client/support/run-client.js';
import { assertErrorLines, assertLibraryFiles, assertNoStackTrace, makePlace } from './support/checks.js';
import { startServerProcess, waitForListing, type ServerProcess } from './support/server-process.js';

const run = promisify(execFile);

/** 9,000 characters, a third of them two-byte: 12,000 bytes of title. */
const LONG_TITLE = 'Ünïcödé Sÿmphony '.repeat(530).slice(0, 9000);

describe('a real as-server whose library has a file with a 9,000-character title', () => {
  let work: string;
  let serverDir: string;
  let server: ServerProcess;

  before(async () => {
    work = await makeTempDir('long-tags');
    serverDir = path.join(work, 'server');
    await fsp.mkdir(serverDir);
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.3', '-metadata', `title=${LONG_TITLE}`, '-metadata', 'artist=Long Tagger', path.join(serverDir, 'Long Title.flac')]);
    await fsp.writeFile(path.join(serverDir, 'short.wav'), randomBytes(4000));
    server = await startServerProcess(serverDir);
    // The tags are read in the background after the scan: wait until LIST2 carries the title.
    await waitForListing(server.port, 'the long title', (records) => records.some((r) => r.title === LONG_TITLE));
  });
  after(async () => {
    await server?.stop();
    await removeDir(work);
  });

  test('list shows the whole title, get saves both files, info shows the title: exit 0', { timeout: 30_000 }, async () => {
    const place = await makePlace(work, 'client');
    const result = await runClient(clientArgs(server.port, place.library, 'true'), 'list\nget 0\nget 1\ninfo 0\n');
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(result.stderr, '', describeRun(result));
    assertNoStackTrace(result);
    const lines = result.stdout.split('\n');
    assert.equal(lines[0], `0  ${LONG_TITLE} — Long Tagger  (0:00)`, 'the listing line carries the whole title');
    assert.equal(lines[1], '1  short.wav');
    assert.match(result.stdout, /^saved Long Title\.flac \(.*, verified\)$/m);
    assert.match(result.stdout, /^saved short\.wav \(.*, verified\)$/m);
    assert.ok(result.stdout.includes(`title:       ${LONG_TITLE}\n`), 'info shows the whole title');
    await assertLibraryFiles(place, ['Long Title.flac', 'short.wav']);
    assert.equal(await sha256File(path.join(place.library, 'Long Title.flac')), await sha256File(path.join(serverDir, 'Long Title.flac')));
  });
});

/** A RIFF chunk: four-letter id, 32-bit little-endian length, the body, a pad byte to an even length. */
function riffChunk(id: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, Buffer.alloc(body.length % 2)]);
}

/** A tenth of a second of 8 kHz 16-bit mono silence whose RIFF INFO title (INAM) is `title`. */
function wavWithTitle(title: string): Buffer {
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0); // PCM
  fmt.writeUInt16LE(1, 2); // mono
  fmt.writeUInt32LE(8000, 4);
  fmt.writeUInt32LE(16000, 8); // bytes per second
  fmt.writeUInt16LE(2, 12); // bytes per frame
  fmt.writeUInt16LE(16, 14);
  const info = Buffer.concat([Buffer.from('INFO', 'latin1'), riffChunk('INAM', Buffer.from(`${title}\0`, 'latin1'))]);
  return riffChunk('RIFF', Buffer.concat([Buffer.from('WAVE', 'latin1'), riffChunk('fmt ', fmt), riffChunk('LIST', info), riffChunk('data', Buffer.alloc(1600))]));
}

describe('a real as-server whose library has a file with a title of 1,200,000 characters (a hostile file)', () => {
  let work: string;
  let server: ServerProcess;

  before(async () => {
    work = await makeTempDir('huge-tag');
    const serverDir = path.join(work, 'server');
    await fsp.mkdir(serverDir);
    await fsp.writeFile(path.join(serverDir, 'huge title.wav'), wavWithTitle('x'.repeat(1_200_000)));
    await fsp.writeFile(path.join(serverDir, 'other.wav'), randomBytes(4000));
    server = await startServerProcess(serverDir);
    await waitForListing(server.port, 'the title', (records) => records.some((r) => typeof r.title === 'string'));
  });
  after(async () => {
    await server?.stop();
    await removeDir(work);
  });

  test('the server cuts the title to 16,384 characters, so list, get and info still work', { timeout: 30_000 }, async () => {
    const place = await makePlace(work, 'client');
    const result = await runClient(clientArgs(server.port, place.library, 'true'), 'list\nget 1\ninfo 0\n');
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(result.stderr, '', describeRun(result));
    const cut = `${'x'.repeat(16_383)}…`;
    assert.equal(result.stdout.split('\n')[0], `0  ${cut}  (0:00)`);
    assert.match(result.stdout, /^saved other\.wav /m);
    assert.ok(result.stdout.includes(`title:       ${cut}\n`), 'info shows the cut title');
  });
});

/** A LIST2 record line of exactly `bytes` bytes (UTF-8, without CR LF). */
function recordOfLength(bytes: number): string {
  const bare = v2Record('big.wav', 5, { title: '' });
  const record = v2Record('big.wav', 5, { title: 'x'.repeat(bytes - Buffer.byteLength(bare)) });
  assert.equal(Buffer.byteLength(record), bytes);
  return record;
}

describe('hostile-server double (v2): the LIST2 line limit is 1 MiB', () => {
  const BIG = Buffer.from('BIG!!');
  let work: string;
  before(async () => {
    work = await makeTempDir('list2-line-limit');
  });
  after(async () => {
    await removeDir(work);
  });

  /** A v2 double whose first LIST2 sends `firstRecord` and later ones a short record. */
  function listingDouble(firstRecord: string): Promise<HostileServer> {
    return startHostileServer({
      version: 2,
      list2: (ctx) => void ctx.write(v2ListBytes([ctx.count === 0 ? firstRecord : v2Record('big.wav', BIG.length)])),
      get: (_req, ctx) => void ctx.write(getReplyBytes(BIG)),
    });
  }

  test('a record of exactly 1 MiB is taken: list and get work', { timeout: 30_000 }, async () => {
    const double = await listingDouble(recordOfLength(1024 * 1024));
    try {
      const place = await makePlace(work, 'at-limit');
      const result = await runClient(clientArgs(double.port, place.library, 'true'), 'list\nget 0\n');
      assert.equal(result.code, 0, describeRun(result));
      assert.equal(result.stderr, '');
      const titleLength = 1024 * 1024 - Buffer.byteLength(v2Record('big.wav', 5, { title: '' }));
      assert.equal(result.stdout.split('\n')[0], `0  ${'x'.repeat(titleLength)}`, 'the whole title is shown');
      assert.match(result.stdout, /^saved big\.wav /m);
      await assertLibraryFiles(place, ['big.wav']);
    } finally {
      await double.close();
    }
  });

  test('a record one byte over 1 MiB is refused in one line, and the next list works', { timeout: 30_000 }, async () => {
    const double = await listingDouble(recordOfLength(1024 * 1024 + 1));
    try {
      const place = await makePlace(work, 'over-limit');
      const result = await runClient(clientArgs(double.port, place.library, 'true'), 'list\nlist\n');
      assert.equal(result.code, 1, describeRun(result));
      assertErrorLines(result, [/^error: the server sent a line longer than 1 MiB$/]);
      assert.equal(result.stdout, '0  big.wav\n', 'the second listing worked');
    } finally {
      await double.close();
    }
  });
});
