import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir, sha256File, writeRandomLibrary } from './support/files.js';
import { indexesByPath, startServer, type RunningServer } from './support/loopback-server.js';
import { playerCommand } from './support/paths.js';
import { clientArgs, describeRun, startClient } from './support/run-client.js';

/**
 * Offline and no waste: a saved, verified file plays from the local copy (also with the
 * server down), and stream+ of a file saved intact downloads nothing. The real CLI against
 * a real server; the player is a recording stand-in (named so), to compare the bytes.
 */
interface ServedLibrary {
  work: string;
  serverDir: string;
  server: RunningServer;
  indexes: Map<string, number>;
}

/** A real server on random files, for the describe block it is called in: started before its tests, stopped and removed after. */
function servedLibrary(prefix: string, files: Record<string, number>): ServedLibrary {
  const served = {} as ServedLibrary;
  before(async () => {
    served.work = await makeTempDir(prefix);
    served.serverDir = path.join(served.work, 'server');
    await writeRandomLibrary(served.serverDir, files);
    served.server = await startServer(served.serverDir);
    served.indexes = await indexesByPath(served.server.port);
  });
  after(async () => {
    await served.server.close().catch(() => {});
    await removeDir(served.work);
  });
  return served;
}

/** The files the recording player was given, in order (the paths it logged). */
async function recorded(dir: string): Promise<string[]> {
  const log = await fsp.readFile(path.join(dir, 'LOG'), 'utf8').catch(() => '');
  return log.split('\n').filter(Boolean).map((l) => l.split(' ')[0]!);
}

describe('playing saved files from the local library', () => {
  const served = servedLibrary('offline', { 'Album/one.mp3': 400_000, 'Album/two.mp3': 250_000 });

  test('stream+ reports verified; stream+ of a file saved intact downloads nothing and plays the copy', { timeout: 30_000 }, async () => {
    const { work, server, indexes } = served;
    const rec = path.join(work, 'rec-plus');
    await fsp.mkdir(rec);
    const library = path.join(work, 'lib-plus');
    const one = indexes.get('Album/one.mp3')!;
    const session = startClient(clientArgs(server.port, library, playerCommand('queue-recording-player', rec)));
    session.write(`stream+ ${one}\n`);
    await session.waitFor('stdout', /^played Album\/one\.mp3$/m);
    assert.match(session.stdout, /^saved Album\/one\.mp3 \(.*, verified\)$/m);
    const saved = path.join(library, 'Album', 'one.mp3');
    session.write(`stream+ ${one}\n`);
    await session.waitFor('stdout', /^played Album\/one\.mp3 \(local copy\)$/m);
    const run = await session.end();
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(run.stdout.match(/^saved /gm)?.length, 1, 'saved once only');
    assert.match(run.stdout, /^already saved and verified: Album\/one\.mp3$/m);
    const played = await recorded(rec);
    assert.equal(played.length, 2);
    for (const f of played) assert.equal(await sha256File(f), await sha256File(saved));
  });

  test('with the server stopped, play of a saved file plays the local copy; an unsaved one says so', { timeout: 30_000 }, async () => {
    const { work, serverDir, server, indexes } = served;
    const rec = path.join(work, 'rec-offline');
    await fsp.mkdir(rec);
    const library = path.join(work, 'lib-offline');
    const one = indexes.get('Album/one.mp3')!;
    const two = indexes.get('Album/two.mp3')!;
    const session = startClient(clientArgs(server.port, library, playerCommand('queue-recording-player', rec)));
    session.write(`get ${one}\nlist\n`);
    await session.waitFor('stdout', /Album\/two\.mp3/);
    await server.close();
    session.write(`play ${one}\n`);
    await session.waitFor('stdout', /^played Album\/one\.mp3$/m);
    assert.match(session.stdout, /^playing \[1\/1\] one\.mp3 \(local copy\)$/m);
    session.write(`play ${two}\n`);
    await session.waitFor('stderr', /cannot play Album\/two\.mp3/);
    const run = await session.end();
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /^error: cannot play Album\/two\.mp3 \(no saved copy to play instead\): .*(refused|connect)/im);
    assert.equal(run.stderr.split('\n').filter(Boolean).length, 1, `one line: ${run.stderr}`);
    const played = await recorded(rec);
    assert.equal(played.length, 1);
    assert.equal(await sha256File(played[0]!), await sha256File(path.join(serverDir, 'Album', 'one.mp3')));
  });
});

describe('a fresh start with the server down: the listing saved by an earlier session', () => {
  const served = servedLibrary('offline-listing', { 'Album/one.mp3': 300_000, 'Album/two.mp3': 200_000 });

  test('play N and ls work from the listing kept in the XDG cache (0600); without one, or with a damaged one, they fail as before', { timeout: 40_000 }, async () => {
    const { work, serverDir, server, indexes } = served;
    const cache = path.join(work, 'cache');
    const library = path.join(work, 'lib');
    const rec = path.join(work, 'rec');
    await fsp.mkdir(rec);
    const one = indexes.get('Album/one.mp3')!;
    const two = indexes.get('Album/two.mp3')!;
    const player = playerCommand('queue-recording-player', rec);
    const env = { XDG_CACHE_HOME: cache };
    const first = startClient(clientArgs(server.port, library, player), { env });
    first.write(`get ${one}\n`);
    await first.waitFor('stdout', /^saved Album\/one\.mp3/m);
    assert.equal((await first.end()).code, 0);
    const dir = path.join(cache, 'audiostream', 'listings');
    const [file, ...others] = await fsp.readdir(dir);
    assert.ok(file && others.length === 0, 'one listing, for the one server');
    assert.equal((await fsp.stat(dir)).mode & 0o777, 0o700);
    assert.equal((await fsp.stat(path.join(dir, file))).mode & 0o777, 0o600);
    const { port } = server;
    await server.close();

    // A fresh process: nothing in memory, the server down.
    const offline = startClient(clientArgs(port, library, player), { env });
    offline.write(`ls Album\nplay ${one}\n`);
    await offline.waitFor('stdout', /^played Album\/one\.mp3$/m);
    offline.write(`play ${two}\n`);
    await offline.waitFor('stderr', /cannot play Album\/two\.mp3/);
    const run = await offline.end();
    assert.match(run.stdout, new RegExp(`^\\(127\\.0\\.0\\.1:${port} cannot be reached: using its listing saved \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC, 2 files; saved copies play\\)$`, 'm'));
    assert.match(run.stdout, /^\d {2}one\.mp3$/m, 'ls shows the saved listing');
    assert.match(run.stdout, /^\d {2}two\.mp3$/m);
    assert.match(run.stdout, /^playing \[1\/1\] one\.mp3 \(local copy\)$/m);
    assert.match(run.stderr, /^error: cannot play Album\/two\.mp3 \(no saved copy to play instead\)/m);
    const played = await recorded(rec);
    assert.equal(played.length, 1);
    assert.equal(await sha256File(played[0]!), await sha256File(path.join(serverDir, 'Album', 'one.mp3')));

    // No saved listing (another cache): as before, the server being down is the answer.
    const none = startClient(clientArgs(port, library, player), { env: { XDG_CACHE_HOME: path.join(work, 'empty-cache') } });
    none.write(`play ${one}\n`);
    const noneRun = await none.end();
    assert.equal(noneRun.code, 1, describeRun(noneRun));
    assert.match(noneRun.stderr, /^error: cannot connect to 127\.0\.0\.1:\d+: connection refused/m);
    assert.doesNotMatch(noneRun.stdout, /played/);

    // A damaged file is ignored, never believed and never a crash.
    await fsp.writeFile(path.join(dir, file), '{"target": "127.0.0.1:1", "entries": [');
    const damaged = startClient(clientArgs(port, library, player), { env });
    damaged.write(`play ${one}\n`);
    const damagedRun = await damaged.end();
    assert.equal(damagedRun.code, 1, describeRun(damagedRun));
    assert.match(damagedRun.stderr, /^error: cannot connect to 127\.0\.0\.1:\d+: connection refused/m);
    assert.doesNotMatch(damagedRun.stderr, /    at /);
  });

});

describe('ListingCache', () => {
  test('keeps the listings of 16 servers at most, the most recently saved; refuses what it did not write', async () => {
    const { ListingCache } = await import('../../src/client/listing-cache.js');
    const dir = await makeTempDir('listing-cache');
    try {
      const cache = new ListingCache(dir);
      for (let i = 0; i < 20; i++) {
        await cache.save(`host:${i}`, [{ index: 0, path: `file-${i}.mp3` }], 1_000 + i);
      }
      assert.equal((await fsp.readdir(dir)).length, 16);
      assert.equal(await cache.load('host:3'), undefined, 'among the oldest: removed');
      assert.deepEqual((await cache.load('host:19'))?.entries, [{ index: 0, path: 'file-19.mp3' }]);
      assert.equal(await cache.load('host:99'), undefined);
      // A file whose entries are not listing entries is not a listing.
      await cache.save('host:bad', [{ index: -1, path: 'x' }]);
      assert.equal(await cache.load('host:bad'), undefined);
    } finally {
      await removeDir(dir);
    }
  });
});
