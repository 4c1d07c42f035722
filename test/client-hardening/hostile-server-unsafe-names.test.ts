/**
 * A broken or hostile server can never make the client write outside its library
 * (docs/SECURITY.md, "What a server can do to a client"). The hostile-server double lists
 * dangerous names beside one good file; for each, `get` through the real CLI must refuse
 * it in one clear line, fetch nothing, write nothing anywhere, and go on to the next
 * command.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHostileServer, getReplyBytes, v1ListBytes, v1StreamBytes, v2ListBytes, v2Record, type HostileServer } from '../doubles/hostile-server.js';
import { makeTempDir, removeDir } from '../client/support/files.js';
import { clientArgs, describeRun, runClient } from '../client/support/run-client.js';
import { assertErrorLines, assertLibraryFiles, assertNoRawControlCharacters, assertSentinelEmpty, makePlace } from './support/checks.js';

const GOOD = Buffer.from('RIFF good audio bytes');

interface UnsafeCase {
  what: string;
  /** The name the server sends; `outside` is an absolute directory beside the library. */
  name: (outside: string) => string;
  why: RegExp;
  /** Prepares the library before the client runs (a directory or link in the way). */
  prepare?: (library: string, outside: string) => Promise<void>;
}

const CASES: UnsafeCase[] = [
  { what: 'a ".." climbing into the sentinel beside the library', name: () => '../sentinel/evil.wav', why: /"\." or "\.\." component/ },
  { what: 'a ".." after a harmless directory', name: () => 'Album/../../sentinel/evil.wav', why: /"\." or "\.\." component/ },
  { what: 'just ".."', name: () => '..', why: /"\." or "\.\." component/ },
  { what: 'a "." component', name: () => './evil.wav', why: /"\." or "\.\." component/ },
  { what: 'an absolute path', name: (outside) => `${outside}/evil.wav`, why: /it is an absolute path/ },
  { what: 'backslashes (a Windows-style climb)', name: () => '..\\sentinel\\evil.wav', why: /backslash/ },
  { what: 'a NUL byte', name: () => 'evil.wav\0../../sentinel/x', why: /NUL byte/ },
  { what: 'an empty component', name: () => 'Album//evil.wav', why: /empty path component/ },
  { what: 'a trailing slash (an empty last component)', name: () => 'Album/', why: /empty path component/ },
  { what: 'a component of 256 bytes', name: () => `${'x'.repeat(252)}.wav`, why: /longer than 255 bytes/ },
  { what: 'a component of 256 bytes in two-byte characters', name: () => 'é'.repeat(128), why: /longer than 255 bytes/ },
  { what: 'an ESC control character (a terminal escape)', name: () => 'evil\x1b[2J.wav', why: /control characters/ },
  { what: 'a tab', name: () => 'evil\tname.wav', why: /control characters/ },
  { what: 'a carriage return inside the name', name: () => 'evil\rname.wav', why: /control characters/ },
  { what: 'DEL', name: () => 'evil\x7f.wav', why: /control characters/ },
  // Regression: C1 controls (U+0080–U+009F; U+009B is CSI in 8-bit terminals) passed the check.
  { what: 'a C1 control character (U+009B, CSI)', name: () => 'evil\u009b2J.wav', why: /control characters/ },
  {
    what: 'a name that is an existing directory in the library',
    name: () => 'taken.wav',
    why: /a directory with that name is in the way/,
    prepare: async (library) => void (await fsp.mkdir(path.join(library, 'taken.wav'), { recursive: true })),
  },
  {
    what: 'a path through a symbolic link in the library that points outside',
    name: () => 'linked/evil.wav',
    why: /a file with that name is in the way/,
    prepare: async (library, outside) => {
      await fsp.mkdir(library, { recursive: true });
      await fsp.symlink(outside, path.join(library, 'linked'));
    },
  },
];

for (const version of [1, 2] as const) {
  describe(`hostile-server double (v${version}) lists unsafe names: get refuses each and writes nothing`, () => {
    let work: string;
    let outside: string;
    let double: HostileServer;
    let names: string[];

    before(async () => {
      work = await makeTempDir(`unsafe-v${version}`);
      outside = path.join(work, 'outside');
      await fsp.mkdir(outside);
      // Index 0 is the good file; index i + 1 is CASES[i].
      names = ['good.wav', ...CASES.map((c) => c.name(outside))];
      double = await startHostileServer(
        version === 1
          ? {
              version: 1,
              list: (ctx) => void ctx.write(v1ListBytes(names)),
              stream: (index, ctx) => void (index === 0 ? ctx.write(v1StreamBytes(GOOD)) : ctx.write(v1StreamBytes(Buffer.from('EVIL BYTES')))),
            }
          : {
              version: 2,
              list2: (ctx) => void ctx.write(v2ListBytes(names.map((n) => v2Record(n, n === 'good.wav' ? GOOD.length : 10)))),
              get: (req, ctx) => void ctx.write(req.path === 'good.wav' ? getReplyBytes(GOOD) : getReplyBytes(Buffer.from('EVIL BYTES'))),
            },
      );
    });
    after(async () => {
      await double?.close();
      await removeDir(work);
    });

    /** The client never even asked for a hostile file. */
    const assertOnlyGoodFileRequested = (since: number): void => {
      const fetched = double.requestLines().slice(since).filter((r) => r.startsWith('STREAM ') || r.startsWith('GET '));
      const good = version === 1 ? 'STREAM 0' : 'GET "good.wav" 0';
      assert.deepEqual([...new Set(fetched)], fetched.length ? [good] : [], `only the good file was fetched: ${JSON.stringify(fetched)}`);
    };

    CASES.forEach((c, i) => {
      test(`${c.what}: one clear error line, nothing fetched or written, the next get works, exit 1`, { timeout: 20_000 }, async () => {
        const place = await makePlace(work, `case-${i}`);
        const since = double.requests.length;
        await c.prepare?.(place.library, outside);
        const run = await runClient(clientArgs(double.port, place.library, 'true'), `get ${i + 1}\nget 0\n`);
        assert.equal(run.code, 1, describeRun(run));
        assertErrorLines(run, [/^error: \S.*$/]);
        assert.match(run.stderr, c.why, describeRun(run));
        assertNoRawControlCharacters(run.stderr.replace(/\n$/, ''));
        assert.match(run.stdout, /^saved good\.wav \(/m, 'the following get worked');
        await assertLibraryFiles(place, ['good.wav']);
        assert.equal((await fsp.readFile(path.join(place.library, 'good.wav'))).toString(), GOOD.toString());
        await assertSentinelEmpty(place);
        assert.deepEqual(await fsp.readdir(outside), [], 'nothing was written at the absolute path');
        assertOnlyGoodFileRequested(since);
      });
    });

    test('get all: every unsafe name refused on its own line, the good file saved, and a summary', { timeout: 20_000 }, async () => {
      const place = await makePlace(work, 'get-all');
      const since = double.requests.length;
      for (const c of CASES) await c.prepare?.(place.library, outside);
      const run = await runClient(clientArgs(double.port, place.library, 'true'), 'get all\n');
      assert.equal(run.code, 1, describeRun(run));
      const errors = run.stderr.split('\n').filter(Boolean);
      assert.equal(errors.length, CASES.length, `one error line per unsafe name: ${describeRun(run)}`);
      for (const line of errors) assert.match(line, /^error: /);
      assertNoRawControlCharacters(run.stderr.replace(/\n/g, ''));
      assert.match(run.stdout, new RegExp(`^1 saved, 0 already there, ${CASES.length} failed: .*$`, 'm'));
      await assertLibraryFiles(place, ['good.wav']);
      await assertSentinelEmpty(place);
      assert.deepEqual(await fsp.readdir(outside), []);
      assertOnlyGoodFileRequested(since);
    });

    test('list shows every name, with control characters escaped rather than sent to the terminal', { timeout: 20_000 }, async () => {
      // Regression: list printed a server's names raw, so a name could carry terminal
      // escape sequences (clear the screen, set the window title…) to the user's terminal.
      const place = await makePlace(work, 'list');
      const run = await runClient(clientArgs(double.port, place.library, 'true'), 'list\n');
      assert.equal(run.code, 0, describeRun(run));
      const lines = run.stdout.split('\n').filter(Boolean);
      assert.equal(lines.length, names.length, `one line per file: ${describeRun(run)}`);
      assertNoRawControlCharacters(run.stdout.replace(/\n/g, ''));
      assert.match(run.stdout, /evil\\x1b\[2J\.wav/, 'ESC is shown escaped');
      assert.match(run.stdout, /evil\\x9b2J\.wav/, 'a C1 control is shown escaped');
      await assertSentinelEmpty(place);
    });
  });
}

describe('hostile-server double (v1) sends an empty name', () => {
  let work: string;
  let double: HostileServer;
  before(async () => {
    work = await makeTempDir('unsafe-empty-v1');
    double = await startHostileServer({
      version: 1,
      // The first listing has an empty name; later ones are good.
      list: (ctx) => void ctx.write(ctx.count === 0 ? Buffer.from('1:\r\n0:good.wav\r\n') : v1ListBytes(['good.wav'])),
      stream: (_index, ctx) => void ctx.write(v1StreamBytes(GOOD)),
    });
  });
  after(async () => {
    await double?.close();
    await removeDir(work);
  });

  test('the listing is refused as MALFORMED_LIST in one line, nothing written, and the next get works', { timeout: 20_000 }, async () => {
    const place = await makePlace(work, 'empty');
    const run = await runClient(clientArgs(double.port, place.library, 'true'), 'get 0\nget 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: the server sent a list line that is not "<index>:<path>": "1:"$/]);
    assert.match(run.stdout, /^saved good\.wav /m);
    await assertLibraryFiles(place, ['good.wav']);
    await assertSentinelEmpty(place);
    assert.equal(double.requestLines().filter((r) => r.startsWith('STREAM')).length, 1, 'nothing was fetched from the bad listing');
  });
});

describe('hostile-server double (v2) sends an empty name', () => {
  let work: string;
  let double: HostileServer;
  before(async () => {
    work = await makeTempDir('unsafe-empty-v2');
    double = await startHostileServer({
      version: 2,
      list2: (ctx) => void ctx.write(v2ListBytes([v2Record('good.wav', GOOD.length), v2Record('', 5)])),
      get: (req, ctx) => void ctx.write(getReplyBytes(req.path === 'good.wav' ? GOOD : Buffer.from('EVIL!'))),
    });
  });
  after(async () => {
    await double?.close();
    await removeDir(work);
  });

  test('get refuses it in one line, fetches and writes nothing, and the next get works', { timeout: 20_000 }, async () => {
    const place = await makePlace(work, 'empty');
    const run = await runClient(clientArgs(double.port, place.library, 'true'), 'get 1\nget 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assertErrorLines(run, [/^error: refusing to save "": the name is empty$/]);
    await assertLibraryFiles(place, ['good.wav']);
    await assertSentinelEmpty(place);
    assert.deepEqual(double.requestLines().filter((r) => r.startsWith('GET')), ['GET "good.wav" 0']);
  });
});
