/**
 * A library that changes under a client: stable addressing by path, the watcher, tags in
 * the listing, reconnecting after a server restart, and the find / info / verify commands.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ClientConnection } from '../../src/client/index.js';
import { AudioServer } from '../../src/server/index.js';
import { SAMPLE_LIBRARY } from '../client/support/paths.js';
import { clientArgs, describeRun, runClient, startClient } from '../client/support/run-client.js';
import { TestHarness, randomContent, sha256, sha256File } from '../support/server-harness.js';

const harness = new TestHarness();
after(() => harness.cleanup());

async function listPaths(port: number): Promise<string[]> {
  const connection = new ClientConnection({ host: '127.0.0.1', port });
  try {
    return (await connection.list()).entries.map((e) => e.path);
  } finally {
    connection.close();
  }
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('stable addressing', () => {
  test('get N after files were added and removed fetches the file the listing showed at N', { timeout: 20_000 }, async () => {
    const files = { 'b.mp3': randomContent(1000), 'c.mp3': randomContent(2000), 'd.mp3': randomContent(3000) };
    const root = await harness.library(files);
    const server = await harness.startServer({ root });
    const lib = path.join(await harness.tempDir(), 'saved');
    const session = startClient(clientArgs(server.port, lib));
    session.write('list\n');
    await session.waitFor('stdout', /2 {2}d\.mp3\n/);
    // Shift every index: one file sorts before them all, one listed file goes away.
    await fsp.writeFile(path.join(root, 'a.mp3'), randomContent(500));
    await fsp.rm(path.join(root, 'b.mp3'));
    await server.library.rescan();
    session.write('get 2\nget 0\n');
    const run = await session.end();
    assert.equal(run.code, 1, describeRun(run));
    assert.equal(await sha256File(path.join(lib, 'd.mp3')), sha256(files['d.mp3']), 'index 2 is still d.mp3');
    assert.match(run.stderr, /b\.mp3/, 'index 0 (b.mp3) is gone, and the error says so');
    await assert.rejects(fsp.stat(path.join(lib, 'a.mp3')), 'never the file that took its number');
  });
});

describe('the library watcher', () => {
  test('additions, renames and removals show in the listing within seconds, without a periodic rescan', { timeout: 20_000 }, async () => {
    const root = await harness.library({ 'one.ogg': Buffer.from('1') });
    const server = await harness.startServer({ root, library: { watchDebounceMs: 200, rescanIntervalMs: 0 } });
    await fsp.mkdir(path.join(root, 'new dir'));
    await fsp.writeFile(path.join(root, 'new dir', 'two.flac'), Buffer.from('2'));
    await eventually('the new file is listed', async () => (await listPaths(server.port)).includes('new dir/two.flac'));
    await fsp.rename(path.join(root, 'one.ogg'), path.join(root, 'uno.ogg'));
    await eventually('the rename is listed', async () => (await listPaths(server.port)).join() === 'new dir/two.flac,uno.ogg');
    await fsp.rm(path.join(root, 'new dir'), { recursive: true });
    await eventually('the removal is listed', async () => (await listPaths(server.port)).join() === 'uno.ogg');
  });
});

describe('tags and details', () => {
  test('the sample library\'s tags appear in list, find filters by them, info shows size and hash', { timeout: 20_000 }, async () => {
    const server = await harness.startServer({ root: SAMPLE_LIBRARY, library: { readTags: true } });
    await server.library.tagsSettled();
    const lib = path.join(await harness.tempDir(), 'saved');
    const run = await runClient(clientArgs(server.port, lib), 'list\nfind emilie noir\ninfo 4\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /^0 {2}Sunrise — Aurora Tones — First Light {2}\(0:03\)$/m);
    assert.match(run.stdout, /^9 {2}Crème Brûlée — Émilie Ölund — Café Noir {2}\(0:03\)$/m);
    // The first 10 lines are the listing; find's hits follow.
    const found = run.stdout.split('\n').slice(10).filter((l) => /^\d {2}/.test(l));
    assert.deepEqual(found.map((l) => l[0]), ['8', '9'], 'find matched both Café Noir tracks, accents ignored');
    const beep = path.join(SAMPLE_LIBRARY, 'Singles', 'Short Beep.wav');
    assert.match(run.stdout, /^path: +Singles\/Short Beep\.wav$/m);
    assert.match(run.stdout, new RegExp(`^size: +${(await fsp.stat(beep)).size} bytes`, 'm'));
    assert.match(run.stdout, new RegExp(`^sha256: +${await sha256File(beep)}$`, 'm'));
    assert.match(run.stdout, /^local copy: +not saved$/m);
  });

  test('verify reports each file as ok, missing, different or partial', { timeout: 20_000 }, async () => {
    const files = { 'a.mp3': randomContent(1000), 'b.mp3': randomContent(1000), 'c.mp3': randomContent(1000), 'd.mp3': randomContent(1000) };
    const root = await harness.library(files);
    const server = await harness.startServer({ root });
    const lib = path.join(await harness.tempDir(), 'saved');
    let run = await runClient(clientArgs(server.port, lib), 'get 0-1\n');
    assert.equal(run.code, 0, describeRun(run));
    const damaged = randomContent(1000);
    await fsp.writeFile(path.join(lib, 'b.mp3'), damaged);
    await fsp.writeFile(path.join(lib, '.c.mp3.part'), files['c.mp3'].subarray(0, 300));
    run = await runClient(clientArgs(server.port, lib), 'verify\n');
    assert.equal(run.code, 1, `a different file fails the command\n${describeRun(run)}`);
    assert.match(run.stdout, /^ok +a\.mp3\ndifferent +b\.mp3\npartial +c\.mp3\nmissing +d\.mp3\n1 ok, 1 missing, 1 different, 1 partial\n$/);
    run = await runClient(clientArgs(server.port, lib), 'get all\nverify\n');
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /resumed at 300 B/);
    assert.match(run.stdout, /4 ok, 0 missing, 0 different, 0 partial/);
  });
});

describe('server restarts', () => {
  test('the client reconnects by itself on the next command', { timeout: 20_000 }, async () => {
    const content = randomContent(5000);
    const root = await harness.library({ 'song.flac': content });
    const first = await harness.startServer({ root });
    const port = first.port;
    const lib = path.join(await harness.tempDir(), 'saved');
    const session = startClient(clientArgs(port, lib));
    session.write('list\n');
    await session.waitFor('stdout', /0 {2}song\.flac\n/);
    await first.close();
    const again = new AudioServer({ library: first.library });
    await again.listen(port, '127.0.0.1');
    after(() => again.close());
    session.write('get 0\n');
    const run = await session.end();
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256File(path.join(lib, 'song.flac')), sha256(content));
  });
});
