/**
 * Failures v1 can only answer by closing the connection: a bad index, a file that vanished,
 * grew past 4 GiB or shrank mid-transfer. Each must close only that connection.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestHarness, randomContent, type RunningServer } from '../support/server-harness.js';
import { LIST_REQUEST, listReply, readU32be, streamReply, streamRequest } from '../support/wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const CONTENT = { 'a.mp3': randomContent(3000), 'b.ogg': randomContent(5000), 'c.wav': randomContent(7000) };
const PATHS = Object.keys(CONTENT);

/** A fresh library and server per test: these tests change files under the server. */
async function freshServer(): Promise<RunningServer> {
  return harness.startServer({ root: await harness.library(CONTENT) });
}

describe('errors close the connection', () => {
  for (const [name, index] of [
    ['index = number of files', 3],
    ['index 2^32-1', 0xffff_ffff],
  ] as const) {
    test(`a bad index (${name}) closes that connection, after answering what came before`, { timeout: 10_000 }, async () => {
      const server = await freshServer();
      const client = await harness.connect(server.port);
      await client.send(Buffer.concat([LIST_REQUEST, streamRequest(index), LIST_REQUEST, streamRequest(0)]));
      const { received } = await client.waitForClose();
      assert.deepEqual(received, listReply(PATHS), 'the LIST before the bad index, and nothing after it');
    });
  }

  test('a bad index does not disturb another client, connected before or after', { timeout: 10_000 }, async () => {
    const server = await freshServer();
    const before = await harness.connect(server.port);
    const bad = await harness.connect(server.port);
    await bad.send(streamRequest(99));
    assert.equal((await bad.waitForClose()).received.length, 0);

    await before.send(streamRequest(1));
    assert.deepEqual(await before.waitForBytes(4 + 5000), streamReply(CONTENT['b.ogg']));
    const afterwards = await harness.connect(server.port);
    await afterwards.send(LIST_REQUEST);
    assert.deepEqual(await afterwards.waitForBytes(listReply(PATHS).length), listReply(PATHS));
    assert.equal(before.isClosed, false);
  });

  test('a file deleted after the scan closes the connection; the others still stream', { timeout: 10_000 }, async () => {
    const server = await freshServer();
    await fsp.rm(path.join(server.root, 'b.ogg'));

    const client = await harness.connect(server.port);
    await client.send(Buffer.concat([streamRequest(0), streamRequest(1), streamRequest(2)]));
    const { received } = await client.waitForClose();
    assert.deepEqual(received, streamReply(CONTENT['a.mp3']), 'index 0 answered, then closed at the vanished index 1');

    const other = await harness.connect(server.port);
    await other.send(Buffer.concat([LIST_REQUEST, streamRequest(2)]));
    const expected = Buffer.concat([listReply(PATHS), streamReply(CONTENT['c.wav'])]);
    assert.deepEqual(await other.waitForBytes(expected.length), expected, 'no rescan yet: the list still names b.ogg');
  });

  test('a file that grew to 4 GiB after the scan closes the connection instead of sending a wrong size', { timeout: 10_000 }, async (t) => {
    const server = await freshServer();
    try {
      await fsp.truncate(path.join(server.root, 'c.wav'), 2 ** 32); // sparse: no disk space used
    } catch (err) {
      t.skip(`this file system cannot hold a sparse 4 GiB file (${(err as NodeJS.ErrnoException).code})`);
      return;
    }
    const client = await harness.connect(server.port);
    await client.send(Buffer.concat([streamRequest(0), streamRequest(2)]));
    const { received } = await client.waitForClose();
    assert.deepEqual(received, streamReply(CONTENT['a.mp3']));
  });

  test('a file that shrinks during the transfer ends the connection short of the announced size', { timeout: 10_000 }, async (t) => {
    const root = await harness.library({ 'big.wav': '' });
    const big = path.join(root, 'big.wav');
    const size = 64 * 1024 * 1024;
    try {
      await fsp.truncate(big, size); // sparse: reads as zeros without using disk
    } catch (err) {
      t.skip(`this file system cannot hold a sparse file (${(err as NodeJS.ErrnoException).code})`);
      return;
    }
    const server = await harness.startServer({ root });
    const client = await harness.connect(server.port);
    await client.send(streamRequest(0));
    await client.waitForBytes(4);
    client.pause(); // the server now fills the socket buffers and waits: far from 64 MiB
    assert.equal(readU32be(client.received, 0), size, 'the announced size');
    assert.ok(client.receivedLength < 4 + size);
    await fsp.truncate(big, 0);
    client.resume();
    const { received } = await client.waitForClose();
    assert.ok(received.length < 4 + size, `closed after ${received.length - 4} of ${size} body bytes`);
    assert.ok(received.subarray(4).every((b) => b === 0));
  });
});
