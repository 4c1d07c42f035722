/**
 * Our client against a starter-code v1 server double (one request per read, `N: name`
 * listings, directory-read order, nothing at all for an empty library): every command
 * byte-exact through the real CLI, in both listing dialects, and nothing ever saved under
 * a name the server's file does not have.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClientConnection } from '../../src/client/index.js';
import { startStarterCodeV1Server, type StarterCodeV1Server } from '../doubles/starter-code-v1-server.js';
import { listFiles, makeTempDir, removeDir, sha256File, writeRandomLibrary } from './support/files.js';
import { SAMPLE_LIBRARY, playerCommand } from './support/paths.js';
import { clientArgs, describeRun, runClient, startClient } from './support/run-client.js';

const SIZES: Record<string, number> = {
  'sizes/zero.wav': 0,
  'sizes/one.wav': 1,
  'sizes/k-minus-1.wav': 1023,
  'sizes/k.wav': 1024,
  'sizes/k-plus-1.wav': 1025,
  'sizes/several-mb.flac': 5 * 1024 * 1024 + 17,
  // A real name that begins with a space: "N:  leading…" from a spaced server, "N: leading…"
  // among "N:name" lines from a conforming one; either way it is saved with its space.
  ' leading space.mp3': 300,
};

let work: string;
before(async () => {
  work = await makeTempDir('starter-code');
  await writeRandomLibrary(path.join(work, 'sized'), SIZES);
  await fsp.mkdir(path.join(work, 'empty'));
});
after(async () => {
  await removeDir(work);
});

/** The listing the CLI printed: index → path, from lines `N  path`. */
function listed(stdout: string): Map<number, string> {
  const lines = stdout.split('\n').filter((l) => /^\s*\d+ {2}/.test(l));
  return new Map(lines.map((l) => {
    const m = /^\s*(\d+) {2}(.*)$/.exec(l)!;
    return [Number(m[1]), m[2]!];
  }));
}

for (const dialect of ['spaced', 'conforming'] as const) {
  describe(`a starter-code v1 server double (one request per read), ${dialect === 'spaced' ? '"N: name"' : '"N:name"'} listing`, () => {
    let sample: StarterCodeV1Server;
    let sized: StarterCodeV1Server;
    before(async () => {
      sample = await startStarterCodeV1Server({ root: SAMPLE_LIBRARY, dialect });
      sized = await startStarterCodeV1Server({ root: path.join(work, 'sized'), dialect });
    });
    after(async () => {
      await sample?.close();
      await sized?.close();
    });

    test('list shows the server\'s own indexes and exact names; .MP3 is not served', { timeout: 20_000 }, async () => {
      const run = await runClient(clientArgs(sample.port, path.join(work, `${dialect}-list`), 'true'), 'list\n');
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(run.stderr, '');
      assert.deepEqual([...listed(run.stdout)], sample.files.map((f, i) => [i, f]));
      assert.ok(!sample.files.some((f) => f.endsWith('.MP3')), 'the double matches extensions case-sensitively');
      assert.ok(sample.console.includes('Unknown request: HELLO AS/2'), 'HELLO went alone and was ignored');
    });

    test('get all: every sample file byte-exact, under its own name', { timeout: 30_000 }, async () => {
      const library = path.join(work, `${dialect}-all`);
      const run = await runClient(clientArgs(sample.port, library, 'true'), 'get all\n');
      assert.equal(run.code, 0, describeRun(run));
      assert.match(run.stdout, new RegExp(`^${sample.files.length} saved, 0 already there, 0 failed$`, 'm'));
      assert.deepEqual(await listFiles(library), [...sample.files].sort());
      for (const file of sample.files) assert.equal(await sha256File(path.join(library, file)), await sha256File(path.join(SAMPLE_LIBRARY, file)), file);
    });

    test('get of 0 B, 1 B, 1023/1024/1025 B and several MB, one by one: SHA-256 equal; a leading space only where the name has one', { timeout: 30_000 }, async () => {
      const library = path.join(work, `${dialect}-sizes`);
      const commands = sized.files.map((_, i) => `get ${i}\n`).join('');
      const run = await runClient(clientArgs(sized.port, library, 'true'), `list\n${commands}`);
      assert.equal(run.code, 0, describeRun(run));
      const names = listed(run.stdout);
      assert.deepEqual([...names], sized.files.map((f, i) => [i, f]));
      assert.deepEqual(await listFiles(library), [...sized.files].sort());
      for (const file of sized.files) assert.equal(await sha256File(path.join(library, file)), await sha256File(path.join(work, 'sized', file)), file);
    });

    test('stream and stream+: the player hears every byte, stream+ saves them too', { timeout: 30_000 }, async () => {
      const library = path.join(work, `${dialect}-stream`);
      const index = sample.files.findIndex((f) => f.endsWith('.flac'));
      const original = path.join(SAMPLE_LIBRARY, sample.files[index]!);
      const played = path.join(work, `${dialect}-played`);
      let run = await runClient(clientArgs(sample.port, library, playerCommand('recording-player', played)), `stream ${index}\n`);
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(await sha256File(played), await sha256File(original));
      assert.deepEqual(await listFiles(library), [], 'stream saves nothing');

      const played2 = path.join(work, `${dialect}-played2`);
      run = await runClient(clientArgs(sample.port, library, playerCommand('recording-player', played2)), `stream+ ${index}\n`);
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(await sha256File(played2), await sha256File(original));
      assert.equal(await sha256File(path.join(library, sample.files[index]!)), await sha256File(original));
    });

    test('reconnect: after the server drops the connection the next command connects again, without a second HELLO', { timeout: 20_000 }, async () => {
      const library = path.join(work, `${dialect}-reconnect`);
      const hellosBefore = sample.console.filter((l) => l === 'Unknown request: HELLO AS/2').length;
      const connectionsBefore = sample.connections;
      const session = startClient(clientArgs(sample.port, library, 'true'));
      try {
        session.write('list\n');
        await session.waitFor('stdout', new RegExp(`^ ?${sample.files.length - 1}  `, 'm'));
        sample.dropConnections();
        session.write('get 0\n');
        await session.waitFor('stdout', /^saved /m);
      } finally {
        const run = await session.end();
        assert.equal(run.code, 0, describeRun(run));
      }
      assert.ok(sample.connections - connectionsBefore >= 2, 'a second connection');
      assert.equal(sample.console.filter((l) => l === 'Unknown request: HELLO AS/2').length - hellosBefore, 1, 'the version was remembered: one HELLO for the session');
      assert.equal(await sha256File(path.join(library, sample.files[0]!)), await sha256File(path.join(SAMPLE_LIBRARY, sample.files[0]!)));
    });

    test('ClientConnection: the dialect is recognised, HELLO was sent alone and every request went on its own', { timeout: 20_000 }, async () => {
      const connection = new ClientConnection({ host: '127.0.0.1', port: sample.port });
      const consoleBefore = sample.console.length;
      try {
        const list = await connection.list();
        assert.equal(connection.version, 1);
        assert.equal(list.dialect, dialect);
        assert.deepEqual(list.entries.map((e) => e.path), sample.files);
        const again = await connection.list();
        assert.deepEqual(again.entries, list.entries);
      } finally {
        connection.close();
      }
      // A server that handles one request per read answers each of them: none was left waiting.
      assert.deepEqual(sample.console.slice(consoleBefore), ['Unknown request: HELLO AS/2', 'LIST', 'LIST']);
    });
  });
}

describe('a starter-code v1 server double over an empty library (it answers LIST with nothing at all)', () => {
  test('list says the library is empty (the server proved it has no file 0), and get 0 says so too', { timeout: 20_000 }, async () => {
    const empty = await startStarterCodeV1Server({ root: path.join(work, 'empty') });
    try {
      const run = await runClient(clientArgs(empty.port, path.join(work, 'empty-library'), 'true'), 'list\nget 0\n');
      assert.equal(run.code, 1, describeRun(run));
      assert.equal(run.stdout, '(the library is empty)\n');
      assert.equal(run.stderr, "error: no file 0: the server's library is empty\n");
      assert.ok(empty.console.includes('STREAM 0'), 'the emptiness was asked, not guessed');
    } finally {
      await empty.close();
    }
  });
});
