/** Flow over real sockets: half-close, slow clients, and rescans during a transfer. */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestHarness, randomContent, sha256, writeFiles } from '../support/server-harness.js';
import { LIST_REQUEST, decodeStreamReply, listReply, readU32be, streamReply, streamRequest } from '../support/wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** Bigger than the loopback socket buffers, so a client that does not read really stalls it. */
const BIG = 16 * 1024 * 1024;

describe('flow', () => {
  test('a half-closed client still gets every reply, then the server ends too', { timeout: 10_000 }, async () => {
    const big = randomContent(5 * 1024 * 1024);
    const small = randomContent(10);
    const server = await harness.startServer({ root: await harness.library({ 'big.flac': big, 'small.mp3': small }) });
    const client = await harness.connect(server.port);
    await client.send(Buffer.concat([LIST_REQUEST, streamRequest(0), streamRequest(1), LIST_REQUEST]));
    await client.end(); // at once, long before the replies are through
    const { received, endedByPeer, hadError } = await client.waitForClose();
    const list = listReply(['big.flac', 'small.mp3']);
    assert.deepEqual(received.subarray(0, list.length), list);
    const first = decodeStreamReply(received, list.length);
    assert.equal(sha256(first.body), sha256(big));
    const second = decodeStreamReply(received, first.end);
    assert.deepEqual(second.body, small);
    assert.deepEqual(received.subarray(second.end), list);
    assert.equal(endedByPeer, true, 'a clean end, not a reset');
    assert.equal(hadError, false);
  });

  test('a half-close right after an unfinished request just ends the connection', { timeout: 10_000 }, async () => {
    const server = await harness.startServer({ root: await harness.library({ 'a.mp3': 'a' }) });
    const client = await harness.connect(server.port);
    await client.send(Buffer.concat([streamRequest(0), streamRequest(0).subarray(0, 10)]));
    await client.end();
    const { received, endedByPeer } = await client.waitForClose();
    assert.deepEqual(received, streamReply(Buffer.from('a')));
    assert.equal(endedByPeer, true);
  });

  test('a client that never reads does not block a second client', { timeout: 10_000 }, async () => {
    const big = randomContent(BIG);
    const server = await harness.startServer({ root: await harness.library({ 'big.wav': big, 'small.ogg': 'tiny' }) });

    const slow = await harness.connect(server.port, { paused: true });
    // One huge reply it will never read, and more requests queued behind it.
    await slow.send(Buffer.concat(Array.from({ length: 200 }, () => streamRequest(0))));

    const fast = await harness.connect(server.port);
    await fast.send(Buffer.concat([LIST_REQUEST, streamRequest(1), streamRequest(0)]));
    const list = listReply(['big.wav', 'small.ogg']);
    const expectedLength = list.length + 4 + 4 + 4 + BIG;
    const received = await fast.waitForBytes(expectedLength);
    assert.equal(received.length, expectedLength);
    assert.deepEqual(received.subarray(0, list.length), list);
    const tiny = decodeStreamReply(received, list.length);
    assert.deepEqual(tiny.body, Buffer.from('tiny'));
    assert.equal(sha256(decodeStreamReply(received, tiny.end).body), sha256(big));

    assert.equal(slow.isClosed, false, 'the slow client is still connected, only waited for');
    assert.equal(slow.receivedLength, 0);
  });

  test('a rescan during a transfer does not disturb it; the next request sees the new snapshot', { timeout: 10_000 }, async () => {
    const big = randomContent(BIG);
    const root = await harness.library({ 'm-big.wav': big, 'z-old.mp3': 'old' });
    const server = await harness.startServer({ root });
    const client = await harness.connect(server.port);
    await client.send(streamRequest(0));
    await client.waitForBytes(4);
    client.pause();
    assert.equal(readU32be(client.received, 0), BIG);

    // Shift every index: a new first file, the last one gone.
    await writeFiles(root, { 'a-new.ogg': 'new' });
    await fsp.rm(path.join(root, 'z-old.mp3'));
    const before = server.library.current;
    const after = await server.library.rescan();
    assert.notEqual(after, before);
    assert.deepEqual(after.v1Entries.map((e) => e.path), ['a-new.ogg', 'm-big.wav']);
    assert.ok(client.receivedLength < 4 + BIG, 'the rescan happened mid-transfer');

    client.resume();
    const received = await client.waitForBytes(4 + BIG);
    assert.equal(sha256(decodeStreamReply(received).body), sha256(big));

    // Same connection, next requests: indexes now refer to the new snapshot.
    await client.send(Buffer.concat([streamRequest(0), LIST_REQUEST]));
    await client.end();
    const { received: all } = await client.waitForClose();
    const rest = all.subarray(4 + BIG);
    assert.deepEqual(rest, Buffer.concat([streamReply(Buffer.from('new')), listReply(['a-new.ogg', 'm-big.wav'])]));
  });
});
