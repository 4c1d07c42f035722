/**
 * A broken or hostile v2 server: the hostile-server double answers `HELLO AS/2` with
 * `AS/2 OK` and then sends scripted v2 replies — malformed listings, impossible ranges,
 * wrong hashes, unknown ERR codes, silence, and bytes after the end of a reply.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ClientConnection, LocalLibrary, Shell, saveFile } from '../../src/client/index.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import {
  getReplyBytes,
  sha256Hex,
  startHostileServer,
  v2ListBytes,
  v2Record,
  type HostileContext,
  type HostileScript,
  type HostileServer,
} from '../doubles/hostile-server.js';
import { exists, makeTempDir, removeDir } from '../client/support/files.js';
import { clientArgs, describeRun, runClient, startClient, type ClientRun } from '../client/support/run-client.js';
import { assertErrorLines, assertLibraryFiles, assertNoRawControlCharacters, assertSentinelEmpty, closedSoon, makePlace, sleep, waitUntil, type Place } from './support/checks.js';

const GOOD = randomBytes(3000);
const VICTIM = randomBytes(5000);
const LISTING = [v2Record('good.wav', GOOD.length), v2Record('Album/victim.wav', VICTIM.length)];

let work: string;
before(async () => {
  work = await makeTempDir('hostile-v2');
});
after(async () => {
  await removeDir(work);
});

type Step = (ctx: HostileContext) => void | Promise<void>;

/**
 * A v2 double listing good.wav (0) and Album/victim.wav (1). good.wav is always served
 * properly; `victim` answers GETs of the victim (default: properly); `firstList2`, if
 * given, answers the first LIST2 (later ones are proper); `info` answers INFO.
 */
function v2Double(options: { victim?: (offset: number, ctx: HostileContext) => void | Promise<void>; firstList2?: Step; info?: Step; hello?: Step }): HostileScript {
  return {
    version: 2,
    ...(options.hello ? { hello: options.hello } : {}),
    list2: (ctx) => (ctx.count === 0 && options.firstList2 ? options.firstList2(ctx) : void ctx.write(v2ListBytes(LISTING))),
    get: (req, ctx) => {
      if (req.path === 'good.wav') return void ctx.write(getReplyBytes(GOOD, req.offset));
      if (req.path === 'Album/victim.wav') return options.victim ? options.victim(req.offset, ctx) : void ctx.write(getReplyBytes(VICTIM, req.offset));
      return void ctx.write('ERR NOT_FOUND no such file\r\n');
    },
    info: (p, ctx) => (options.info ? options.info(ctx) : void ctx.write(`OK ${v2Record(p, p === 'good.wav' ? GOOD.length : VICTIM.length, { sha256: sha256Hex(p === 'good.wav' ? GOOD : VICTIM) })}\r\n`)),
  };
}

async function runAgainst(name: string, script: HostileScript, input: string, prepare?: (place: Place) => Promise<void>): Promise<{ run: ClientRun; place: Place; double: HostileServer }> {
  const place = await makePlace(work, name);
  await prepare?.(place);
  const double = await startHostileServer(script);
  try {
    const run = await runClient(clientArgs(double.port, place.library, 'true'), input);
    return { run, place, double };
  } finally {
    await double.close();
  }
}

async function assertVictimFailedCleanly(run: ClientRun, place: Place, error: RegExp): Promise<void> {
  assert.equal(run.code, 1, describeRun(run));
  assertErrorLines(run, [error]);
  assert.match(run.stdout, /^saved good\.wav \(.*, verified\)$/m, `the next get worked: ${describeRun(run)}`);
  await assertLibraryFiles(place, ['good.wav']); // nothing at Album/victim.wav, no .part
  await assertSentinelEmpty(place);
}

describe('hostile-server double (v2): malformed listings', () => {
  const MALFORMED: [string, string, RegExp][] = [
    ['a line that is not JSON', '{"path":"x.wav","size":', /^error: a listing line is not JSON: .*$/],
    ['JSON that is not an object', '[1,2,3]', /^error: a listing line lacks path, size or mtime: .*$/],
    ['null', 'null', /^error: a listing line lacks path, size or mtime: "null"$/],
    ['a path that is not a string', '{"path":7,"size":1,"mtime":0}', /^error: a listing line lacks path, size or mtime: .*$/],
    ['a negative size', '{"path":"x.wav","size":-1,"mtime":0}', /^error: a listing line lacks path, size or mtime: .*$/],
    ['a fractional size', '{"path":"x.wav","size":1.5,"mtime":0}', /^error: a listing line lacks path, size or mtime: .*$/],
    ['a size beyond 2^53', '{"path":"x.wav","size":18014398509481984,"mtime":0}', /^error: a listing line lacks path, size or mtime: .*$/],
  ];
  for (const [what, line, error] of MALFORMED) {
    test(`${what}: one clear error line, and the next list and get work`, { timeout: 20_000 }, async () => {
      const { run, place } = await runAgainst(`json-${what.replace(/\W+/g, '-')}`, v2Double({ firstList2: (ctx) => void ctx.write(v2ListBytes([LISTING[0]!, line])) }), 'list\nget 0\n');
      assert.equal(run.code, 1, describeRun(run));
      assertErrorLines(run, [error]);
      assert.match(run.stdout, /^saved good\.wav /m);
      await assertLibraryFiles(place, ['good.wav']);
    });
  }

  const COUNTS: [string, string, RegExp][] = [
    ['a count over the limit of 1,000,000', 'OK 1000001', /^error: the server announced 1000001 files$/],
    // Regression: these were taken through Number(): "OK" was an empty listing, "OK 1e3" a
    // count of 1000, and "OK lots" was reported as "the server announced lots files".
    ['a negative count', 'OK -1', /^error: malformed LIST2 reply: the count is not a number: "-1"$/],
    ['a count that is no number', 'OK lots', /^error: malformed LIST2 reply: the count is not a number: "lots"$/],
    ['no count at all', 'OK', /^error: malformed LIST2 reply: the count is not a number: ""$/],
    ['a count in exponent notation', 'OK 1e3', /^error: malformed LIST2 reply: the count is not a number: "1e3"$/],
  ];
  for (const [what, status, error] of COUNTS) {
    test(`${what}: refused at once, and the next list and get work`, { timeout: 20_000 }, async () => {
      let stoppedBecauseClosed = false;
      const { run, place } = await runAgainst(
        `count-${what.replace(/\W+/g, '-')}`,
        v2Double({
          firstList2: async (ctx) => {
            // The status line, then records for as long as the client keeps reading.
            await ctx.write(`${status}\r\n`);
            for (let i = 0; i < 2_000_000; i++) if (!(await ctx.write(`${v2Record(`endless ${i}.wav`, 1)}\r\n`))) break;
            stoppedBecauseClosed = await closedSoon(ctx);
          },
        }),
        'list\nget 0\n',
      );
      assert.equal(run.code, 1, describeRun(run));
      assertErrorLines(run, [error]);
      assert.ok(stoppedBecauseClosed, 'the client hung up instead of reading on');
      assert.match(run.stdout, /^saved good\.wav /m);
      await assertLibraryFiles(place, ['good.wav']);
    });
  }

  test('ClientConnection maxListBytes: a LIST2 of many long records within the count is stopped at the byte limit', { timeout: 20_000 }, async () => {
    // Regression: 1,000,000 records of 8 kB pass the count and line limits (8 GB).
    let stoppedBecauseClosed = false;
    const double = await startHostileServer(
      v2Double({
        firstList2: async (ctx) => {
          await ctx.write('OK 1000000\r\n');
          for (let i = 0; i < 1_000_000; i++) if (!(await ctx.write(`${v2Record(`${'y'.repeat(8000)}${i}.wav`, 1)}\r\n`))) break;
          stoppedBecauseClosed = await closedSoon(ctx);
        },
      }),
    );
    const connection = new ClientConnection({ host: '127.0.0.1', port: double.port, maxListBytes: 1024 * 1024 });
    try {
      await assert.rejects(connection.list(), (err) => isAudioStreamError(err, 'LIST_TOO_LONG') && /more than 1 MiB of listing/.test((err as Error).message));
      await waitUntil('the double saw the client hang up', () => stoppedBecauseClosed);
      assert.equal((await connection.list()).entries.length, 2, 'the next listing works');
    } finally {
      connection.close();
      await double.close();
    }
  });

  test('a listing line longer than 1 MiB is refused', { timeout: 20_000 }, async () => {
    const { run } = await runAgainst('long-line', v2Double({ firstList2: (ctx) => void ctx.write(v2ListBytes([v2Record(`${'a/'.repeat(530_000)}x.wav`, 1)])) }), 'list\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: the server sent a line longer than 1 MiB$/]);
  });

  test('a listing cut short by a close is an error, not a shorter listing', { timeout: 20_000 }, async () => {
    const { run } = await runAgainst('cut-list', v2Double({ firstList2: (ctx) => ctx.end(v2ListBytes([LISTING[0]!], 3)) }), 'list\nlist\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: the server at 127\.0\.0\.1:\d+ closed the connection$/]);
    assert.equal(run.stdout, '0  good.wav\n1  Album/victim.wav\n', 'only the second, complete listing was shown');
  });
});

describe('hostile-server double (v2): GET replies that lie', () => {
  test('a GET cut off at once (status line and 2,000 bytes in one packet, then close): those bytes stay in the .part, for resuming', { timeout: 20_000 }, async () => {
    // Regression: the connection's failure destroyed the body before saveFile had its file
    // open, and a destroyed stream drops what it buffered, so nothing was kept.
    const whole = getReplyBytes(VICTIM);
    const cut = whole.subarray(0, whole.indexOf('\r\n') + 2 + 2000);
    const { run, place } = await runAgainst('cut-at-once', v2Double({ victim: (_offset, ctx) => ctx.end(cut) }), 'get 1\nget 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: the server closed the connection after 2000 of 5000 bytes$/]);
    const part = await fsp.readFile(path.join(place.library, 'Album', '.victim.wav.part'));
    assert.ok(part.equals(VICTIM.subarray(0, 2000)), `the .part holds the 2000 bytes that arrived (${part.length})`);
    assert.match(run.stdout, /^saved good\.wav /m, 'the next get worked');
  });

  test('a GET header whose range exceeds the size: PROTOCOL_ERROR, nothing written', { timeout: 20_000 }, async () => {
    const { run, place } = await runAgainst('range', v2Double({ victim: (_o, ctx) => void ctx.write(`OK 10 0 20\r\n${'x'.repeat(20)}DONE ${sha256Hex(Buffer.alloc(10))}\r\n`) }), 'get 1\nget 0\n');
    await assertVictimFailedCleanly(run, place, /^error: GET reply range 0\+20 exceeds the size 10$/);
  });

  test('a GET header that is not three numbers: PROTOCOL_ERROR, nothing written', { timeout: 20_000 }, async () => {
    const { run, place } = await runAgainst('header', v2Double({ victim: (_o, ctx) => void ctx.write('OK 5000 zero all\r\n') }), 'get 1\nget 0\n');
    await assertVictimFailedCleanly(run, place, /^error: offset is not a decimal number: "zero"$/);
  });

  test('a wrong hash in the trailer: INTEGRITY_MISMATCH, nothing at the final name, the .part deleted', { timeout: 20_000 }, async () => {
    const { run, place } = await runAgainst('hash', v2Double({ victim: (offset, ctx) => void ctx.write(getReplyBytes(VICTIM, offset, `DONE ${'0'.repeat(64)}`)) }), 'get 1\nget 0\n');
    await assertVictimFailedCleanly(run, place, /^error: the file's SHA-256 does not match the server's \(got [0-9a-f]{12}…, expected 000000000000…\): it was corrupted on the way$/);
  });

  test('a wrong hash after a resume: the .part is discarded, the transfer starts over once, then fails; nothing kept', { timeout: 20_000 }, async () => {
    const { run, place, double } = await runAgainst(
      'hash-resume',
      v2Double({ victim: (offset, ctx) => void ctx.write(getReplyBytes(VICTIM, offset, `DONE ${'f'.repeat(64)}`)) }),
      'get 1\nget 0\n',
      async (p) => {
        await fsp.mkdir(path.join(p.library, 'Album'), { recursive: true });
        await fsp.writeFile(path.join(p.library, 'Album', '.victim.wav.part'), VICTIM.subarray(0, 1234));
      },
    );
    await assertVictimFailedCleanly(run, place, /^error: the file's SHA-256 does not match the server's .*: it was corrupted on the way$/);
    assert.deepEqual(
      double.requestLines().filter((r) => r.startsWith('GET "Album')),
      ['GET "Album/victim.wav" 1234', 'GET "Album/victim.wav" 0'],
      'resumed, then started over once',
    );
  });

  test('a malformed trailer: an error, nothing at the final name, the .part deleted', { timeout: 20_000 }, async () => {
    const { run, place } = await runAgainst('bad-trailer', v2Double({ victim: (offset, ctx) => void ctx.write(getReplyBytes(VICTIM, offset, 'DONE not-a-hash')) }), 'get 1\nget 0\n');
    await assertVictimFailedCleanly(run, place, /^error: expected OK or ERR from the server, got "DONE not-a-hash"$/);
  });

  test('ERR FILE_CHANGED in the trailer: the bytes are discarded', { timeout: 20_000 }, async () => {
    const { run, place } = await runAgainst('changed', v2Double({ victim: (offset, ctx) => void ctx.write(getReplyBytes(VICTIM, offset, 'ERR FILE_CHANGED the file changed while it was sent')) }), 'get 1\nget 0\n');
    await assertVictimFailedCleanly(run, place, /^error: the server says: the file changed while it was sent$/);
  });

  test('a server that ignores the range of a resume (sends from 0): the file is rewritten from 0 and verified', { timeout: 20_000 }, async () => {
    const { run, place, double } = await runAgainst(
      'no-ranges',
      v2Double({ victim: (_offset, ctx) => void ctx.write(getReplyBytes(VICTIM, 0)) }),
      'get 1\n',
      async (p) => {
        await fsp.mkdir(path.join(p.library, 'Album'), { recursive: true });
        await fsp.writeFile(path.join(p.library, 'Album', '.victim.wav.part'), Buffer.alloc(777, 0xee)); // not even the right bytes
      },
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.deepEqual(double.requestLines().filter((r) => r.startsWith('GET')), ['GET "Album/victim.wav" 777']);
    await assertLibraryFiles(place, ['Album/victim.wav']);
    assert.ok((await fsp.readFile(path.join(place.library, 'Album', 'victim.wav'))).equals(VICTIM));
  });
});

describe('hostile-server double (v2): ERR replies with codes the client does not know', () => {
  test('LIST2, GET and INFO answered with unknown codes: one line each, the connection stays usable', { timeout: 20_000 }, async () => {
    const { run, place, double } = await runAgainst(
      'unknown-codes',
      v2Double({
        firstList2: (ctx) => void ctx.write('ERR TEAPOT I am a teapot\r\n'),
        victim: (_o, ctx) => void ctx.write('ERR QUOTA_EXCEEDED come back tomorrow\r\n'),
        info: (ctx) => void ctx.write('ERR NO_MESSAGE\r\n'),
      }),
      'list\nget 1\ninfo 1\nget 0\n',
    );
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: the server says: I am a teapot$/, /^error: the server says: come back tomorrow$/, /^error: the server answered NO_MESSAGE$/]);
    assert.match(run.stdout, /^saved good\.wav .*verified/m);
    await assertLibraryFiles(place, ['good.wav']);
    assert.equal(double.connections, 1, 'an ERR reply leaves the connection in step: no reconnect');
  });

  test('an ERR message with terminal escapes is shown escaped', { timeout: 20_000 }, async () => {
    // Regression: "the server says: <message>" printed the server's bytes raw.
    const { run } = await runAgainst('escapes', v2Double({ victim: (_o, ctx) => void ctx.write('ERR WHATEVER \x1b]0;pwned\x07\x1b[2Jgone\r\n') }), 'get 1\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: the server says: \\x1b\]0;pwned\\x07\\x1b\[2Jgone$/]);
    assertNoRawControlCharacters(run.stderr.replace(/\n$/, ''));
  });

  test('tags with terminal escapes are shown escaped by list and info', { timeout: 20_000 }, async () => {
    const evil = v2Record('good.wav', GOOD.length, { title: 'Song\x1b[31m', artist: 'Band\u009b2J', album: 'LP\x07', codec: 'PCM\x1b[0m' });
    const { run } = await runAgainst(
      'tag-escapes',
      {
        version: 2,
        list2: (ctx) => void ctx.write(v2ListBytes([evil])),
        info: (_p, ctx) => void ctx.write(`OK ${evil.replace('}', `,"sha256":"${sha256Hex(GOOD)}"}`)}\r\n`),
      },
      'list\ninfo 0\n',
    );
    assert.equal(run.code, 0, describeRun(run));
    assertNoRawControlCharacters(run.stdout.replace(/\n/g, ''));
    assert.match(run.stdout, /^0 {2}Song\\x1b\[31m — Band\\x9b2J — LP\\x07$/m);
    assert.match(run.stdout, /^codec: +PCM\\x1b\[0m$/m);
  });
});

describe('hostile-server double (v2): bytes after the end of a reply', () => {
  const EVIL = Buffer.from('EVIL');
  // Crafted to look like the answer to the client's next GET.
  const FAKE_REPLY = `OK ${EVIL.length} 0 ${EVIL.length}\r\n${EVIL.toString()}DONE ${sha256Hex(EVIL)}\r\n`;

  test('a LIST2 with more lines than its count, in one packet: the listing has exactly the count', { timeout: 20_000 }, async () => {
    // Regression: the extra lines were appended to the listing already handed out.
    const { run, double } = await runAgainst('extra-lines', v2Double({ firstList2: (ctx) => void ctx.write(v2ListBytes([...LISTING, v2Record('smuggled.wav', 4)], 2)) }), 'list\nget 1\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^0 {2}good\.wav\n1 {2}Album\/victim\.wav\n/);
    assert.doesNotMatch(run.stdout, /smuggled/);
    assert.equal(double.connections, 2, 'the connection was closed after the stray bytes, and the next command reconnected');
  });

  test('stray bytes while idle (ClientConnection): the connection is closed, and the next request reconnects and reads its own reply', { timeout: 10_000 }, async () => {
    const double = await startHostileServer(
      v2Double({
        firstList2: async (ctx) => {
          await ctx.write(v2ListBytes(LISTING));
          await new Promise((r) => setTimeout(r, 50));
          await ctx.write(FAKE_REPLY);
        },
      }),
    );
    const connection = new ClientConnection({ host: '127.0.0.1', port: double.port });
    try {
      await connection.list();
      await waitUntil('the stray bytes closed the connection', () => !connection.connected);
      const file = await connection.fetch({ index: 0, path: 'good.wav' });
      const chunks: Buffer[] = [];
      for await (const chunk of file.body) chunks.push(chunk as Buffer);
      assert.ok(Buffer.concat(chunks).equals(GOOD), 'good.wav has its own bytes, not the fake reply');
      assert.equal(await file.trailer, sha256Hex(GOOD));
      assert.equal(double.connections, 2);
    } finally {
      connection.close();
      await double.close();
    }
  });

  test('a GET reply followed by a fake GET reply in the same packet: the file is right, the fake is discarded', { timeout: 20_000 }, async () => {
    const { run, place, double } = await runAgainst(
      'extra-get',
      v2Double({ victim: (offset, ctx) => void ctx.write(Buffer.concat([getReplyBytes(VICTIM, offset), Buffer.from(FAKE_REPLY)])) }),
      'get 1\nget 0\n',
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.ok((await fsp.readFile(path.join(place.library, 'Album', 'victim.wav'))).equals(VICTIM));
    assert.ok((await fsp.readFile(path.join(place.library, 'good.wav'))).equals(GOOD), 'the next get used its own reply');
    assert.ok(double.connections >= 2, 'the next get went on a fresh connection');
  });

  test('an ERR reply followed by a fake GET reply: the fake is discarded', { timeout: 20_000 }, async () => {
    const { run, place } = await runAgainst('extra-err', v2Double({ victim: (_o, ctx) => void ctx.write(`ERR NOT_FOUND gone\r\n${FAKE_REPLY}`) }), 'get 1\nget 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: the server says: gone$/]);
    await assertLibraryFiles(place, ['good.wav']);
    assert.ok((await fsp.readFile(path.join(place.library, 'good.wav'))).equals(GOOD));
  });

  test('bytes after the HELLO answer in the same packet: the server does not speak the protocol', { timeout: 20_000 }, async () => {
    const { run } = await runAgainst('extra-hello', v2Double({ hello: (ctx) => void ctx.write(`AS/2 OK hostile\r\n${FAKE_REPLY}`) }), 'list\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: the server does not speak this protocol \(it said "AS\/2 OK hostile"\)$/]);
  });
});

describe('hostile-server double (v2) that sends a status line and goes silent: ClientConnection gives up after its idle timeout', () => {
  let double: HostileServer;
  let dir: string;
  before(async () => {
    dir = await makeTempDir('hostile-v2-silent');
    double = await startHostileServer({
      version: 2,
      list2: (ctx) => void ctx.write(ctx.count === 0 ? `OK 3\r\n${LISTING[0]}\r\n` : v2ListBytes(LISTING)),
      get: (req, ctx) => {
        if (req.path === 'good.wav') return void ctx.write(getReplyBytes(GOOD).subarray(0, -(64 + 7))); // the whole body, no trailer
        return void ctx.write(Buffer.concat([Buffer.from(`OK ${VICTIM.length} 0 ${VICTIM.length}\r\n`), VICTIM.subarray(0, 100)]));
      },
      info: () => {}, // never answers
    });
  });
  after(async () => {
    await double?.close();
    await removeDir(dir);
  });

  const connect = (): ClientConnection => new ClientConnection({ host: '127.0.0.1', port: double.port, idleTimeoutMs: 300 });

  test('LIST2: a status line and one of three records, then silence: TIMEOUT; the same ClientConnection then works', { timeout: 10_000 }, async () => {
    const connection = connect();
    try {
      await assert.rejects(connection.list(), (err) => isAudioStreamError(err, 'TIMEOUT'));
      assert.equal(connection.connected, false);
      const { entries } = await connection.list();
      assert.equal(entries.length, 2);
    } finally {
      connection.close();
    }
  });

  test('INFO never answered: TIMEOUT', { timeout: 10_000 }, async () => {
    const connection = connect();
    try {
      await assert.rejects(connection.info('good.wav'), (err) => isAudioStreamError(err, 'TIMEOUT'));
    } finally {
      connection.close();
    }
  });

  test('GET: a header and 100 of 5000 bytes, then silence: the body fails with TIMEOUT; saveFile keeps the .part to resume, nothing at the final name', { timeout: 10_000 }, async () => {
    const connection = connect();
    try {
      const file = await connection.fetch({ index: 1, path: 'Album/victim.wav' });
      const finalPath = path.join(dir, 'victim.wav');
      await assert.rejects(saveFile(file, finalPath, { keepPartial: true }), (err) => isAudioStreamError(err, 'TIMEOUT'));
      assert.equal(await exists(finalPath), false);
      assert.equal((await fsp.stat(LocalLibrary.temporaryPathFor(finalPath))).size, 100, 'the 100 good bytes are kept for a resume');
    } finally {
      connection.close();
    }
  });

  test('GET: the whole body but no trailer: the trailer fails with TIMEOUT and nothing is at the final name', { timeout: 10_000 }, async () => {
    const connection = connect();
    try {
      const file = await connection.fetch({ index: 0, path: 'good.wav' });
      const finalPath = path.join(dir, 'good.wav');
      await assert.rejects(saveFile(file, finalPath, { keepPartial: true }), (err) => isAudioStreamError(err, 'TIMEOUT'));
      assert.equal(await exists(finalPath), false, 'unverified bytes are not put at the final name');
    } finally {
      connection.close();
    }
  });

  test('HELLO answered with half a line, then silence: connecting fails with TIMEOUT', { timeout: 10_000 }, async () => {
    const silent = await startHostileServer({ version: 2, hello: (ctx) => void ctx.write('AS/2 OK half') });
    const connection = new ClientConnection({ host: '127.0.0.1', port: silent.port, idleTimeoutMs: 300 });
    try {
      await assert.rejects(connection.list(), (err) => isAudioStreamError(err, 'TIMEOUT'));
    } finally {
      connection.close();
      await silent.close();
    }
  });
});

describe('hostile-server double (v2): a GET reply whose numbers are not what was asked (the client checks every field)', () => {
  const TIB16 = 16 * 1024 ** 4;
  const resumeFrom = (bytes: number) => async (p: Place): Promise<void> => {
    await fsp.mkdir(path.join(p.library, 'Album'), { recursive: true });
    await fsp.writeFile(path.join(p.library, 'Album', '.victim.wav.part'), VICTIM.subarray(0, bytes));
  };

  test('a resumed GET answered from a 16 TiB offset: PROTOCOL_ERROR at once, the .part neither extended nor changed', { timeout: 20_000 }, async () => {
    // Regression: the client took the offset as given, grew the .part to 16 TiB and hashed
    // it for hours, deaf to Ctrl-C.
    const { run, place } = await runAgainst(
      'offset-16tib',
      v2Double({ victim: (_offset, ctx) => void ctx.write(`OK ${TIB16 + 5000} ${TIB16} 5000\r\n${'x'.repeat(5000)}DONE ${'0'.repeat(64)}\r\n`) }),
      'get 1\nget 0\n',
      resumeFrom(1234),
    );
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: asked for the file from byte 1234, the server answered from byte 17592186044416$/]);
    const part = await fsp.readFile(path.join(place.library, 'Album', '.victim.wav.part'));
    assert.ok(part.equals(VICTIM.subarray(0, 1234)), `the .part is as it was (${part.length} bytes)`);
    assert.match(run.stdout, /^saved good\.wav /m, 'the next get worked');
    await assertLibraryFiles(place, ['Album/.victim.wav.part', 'good.wav']);
  });

  test('a GET announcing less than the rest of the file: PROTOCOL_ERROR, nothing written', { timeout: 20_000 }, async () => {
    const { run, place } = await runAgainst('short-length', v2Double({ victim: (_o, ctx) => void ctx.write(`OK 5000 0 100\r\n${'x'.repeat(100)}DONE ${sha256Hex(VICTIM)}\r\n`) }), 'get 1\nget 0\n');
    await assertVictimFailedCleanly(run, place, /^error: asked for the rest of the file, the server announced 100 of the 5000 bytes from 0$/);
  });

  test('saveFile itself never continues a .part past its end (an offset beyond it is PROTOCOL_ERROR)', { timeout: 20_000 }, async () => {
    const place = await makePlace(work, 'savefile-offset');
    const finalPath = path.join(place.library, 'a.wav');
    await fsp.mkdir(place.library, { recursive: true });
    const partPath = LocalLibrary.temporaryPathFor(finalPath);
    await fsp.writeFile(partPath, Buffer.alloc(10, 1));
    const file = { size: 1_000_000_010, offset: 1_000_000_000, length: 10, body: Readable.from([Buffer.alloc(10, 2)]), trailer: Promise.resolve('0'.repeat(64)), release: () => {} };
    await assert.rejects(saveFile(file, finalPath, { keepPartial: true }), (err) => isAudioStreamError(err, 'PROTOCOL_ERROR') && /past the 10 bytes saved so far/.test((err as Error).message));
    const after = await fsp.stat(partPath).catch(() => undefined);
    assert.ok(after === undefined || after.size === 10, `the .part was not extended (${after?.size} bytes)`);
    assert.equal(await exists(finalPath), false);
  });
});

describe('hostile-server double (v2): Ctrl-C while a large .part is being hashed for a resume', () => {
  test('SIGINT stops the hash at once: "cancelled", the .part kept as it was, the session goes on', { timeout: 60_000 }, async () => {
    // Regression: hashing the part already saved (about a second per GB) could not be
    // cancelled. 32 GiB of sparse .part is far longer to hash than the test waits.
    const PART = 32 * 1024 ** 3;
    const SIZE = PART + 5000;
    const place = await makePlace(work, 'hash-cancel');
    const partPath = path.join(place.library, 'Album', '.victim.wav.part');
    await fsp.mkdir(path.dirname(partPath), { recursive: true });
    await fsp.writeFile(partPath, '');
    await fsp.truncate(partPath, PART); // sparse: no disk space taken
    let asked = false;
    const double = await startHostileServer({
      version: 2,
      list2: (ctx) => void ctx.write(v2ListBytes([v2Record('good.wav', GOOD.length), v2Record('Album/victim.wav', SIZE)])),
      get: (req, ctx) => {
        if (req.path === 'good.wav') return void ctx.write(getReplyBytes(GOOD, req.offset));
        asked = true;
        // The header, then silence: the client is busy hashing what it has.
        return void ctx.write(`OK ${SIZE} ${req.offset} ${SIZE - req.offset}\r\n`);
      },
    });
    const session = startClient(clientArgs(double.port, place.library, 'true'), { timeoutMs: 50_000 });
    try {
      session.write('get 1\n');
      await waitUntil('the resumed GET was asked', () => asked, 20_000);
      await sleep(300); // well into the hash
      const interrupted = Date.now();
      process.kill(session.pid, 'SIGINT');
      await session.waitFor('stderr', /^cancelled$/m);
      const took = Date.now() - interrupted;
      assert.ok(took < 5000, `cancelled within ${took} ms, not after the whole hash`);
      assert.equal((await fsp.stat(partPath)).size, PART, 'the .part is kept as it was');
      session.write('get 0\n');
      await session.waitFor('stdout', /^saved good\.wav /m);
    } finally {
      await session.end().catch(() => {});
      await double.close();
    }
    assert.equal(await exists(path.join(place.library, 'Album', 'victim.wav')), false, 'nothing at the final name');
  });
});

describe('a slow server is never reported as an empty library (hostile-server double)', () => {
  test('a v2 server answering HELLO after 3.5 s: recognised as v2 when the answer comes, and listed', { timeout: 30_000 }, async () => {
    // Regression: the client took the silence for an empty v1 library and said
    // "(the library is empty)" with exit status 0.
    const { run, double } = await runAgainst(
      'slow-hello',
      {
        ...v2Double({ hello: async (ctx) => {
          if (ctx.count === 0) await sleep(3500);
          await ctx.write('AS/2 OK slow-double\r\n');
        } }),
        // As our own server does for a connection that has not said HELLO: file 0 exists.
        stream: (index, ctx) => (index === 0 ? void ctx.write(Buffer.concat([Buffer.from([0, 0, 0x0b, 0xb8]), GOOD])) : ctx.reset()),
      },
      'list\n',
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stdout, '0  good.wav\n1  Album/victim.wav\n');
    assert.equal(run.stderr, '');
    assert.ok(double.requestLines().includes('LIST2'), 'listed over v2');
  });

  test('a server that accepts and then answers nothing: an error and exit status 1 in piped mode, not "(the library is empty)"', { timeout: 20_000 }, async () => {
    const double = await startHostileServer({ version: 1, list: () => {}, stream: () => new Promise<void>(() => {}) });
    const output = new PassThrough();
    const errors = new PassThrough();
    let out = '';
    let err = '';
    output.on('data', (b: Buffer) => (out += b.toString()));
    errors.on('data', (b: Buffer) => (err += b.toString()));
    try {
      const connection = new ClientConnection({ host: '127.0.0.1', port: double.port, emptyListTimeoutMs: 300, idleTimeoutMs: 2000 });
      const shell = new Shell({ connection, library: new LocalLibrary(path.join(work, 'busy')), player: ['true'], input: Readable.from(['list\n']), output, errors, interactive: false });
      assert.equal(await shell.run(), 1, 'a failure in piped mode');
    } finally {
      await double.close();
    }
    assert.equal(out, '');
    assert.match(err, /^error: the server sent no list for 2 s: it is busy or stuck\n$/);
  });
});
