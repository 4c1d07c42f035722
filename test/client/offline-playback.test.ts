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
describe('playing saved files from the local library', () => {
  let work: string;
  let serverDir: string;
  let server: RunningServer;
  let indexes: Map<string, number>;
  const FILES = { 'Album/one.mp3': 400_000, 'Album/two.mp3': 250_000 };

  before(async () => {
    work = await makeTempDir('offline');
    serverDir = path.join(work, 'server');
    await writeRandomLibrary(serverDir, FILES);
    server = await startServer(serverDir);
    indexes = await indexesByPath(server.port);
  });
  after(async () => {
    await server.close().catch(() => {});
    await removeDir(work);
  });

  async function recorded(dir: string): Promise<string[]> {
    const log = await fsp.readFile(path.join(dir, 'LOG'), 'utf8').catch(() => '');
    return log.split('\n').filter(Boolean).map((l) => l.split(' ')[0]!);
  }

  test('stream+ reports verified; stream+ of a file saved intact downloads nothing and plays the copy', { timeout: 30_000 }, async () => {
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
