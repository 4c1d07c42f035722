/**
 * Files that change under the server: truncated, grown, rewritten, renamed over, deleted or
 * replaced by something that is not a file while (or after) being listed and streamed. The
 * rule: v1 never sends a byte count that is wrong (it closes instead); v2 keeps its framing
 * (exactly `length` bytes) and says `ERR FILE_CHANGED` in the trailer, and the connection
 * stays usable.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestHarness, delay, randomContent, sha256, type RawClient } from '../support/server-harness.js';
import { decodeStreamReply, readU32be, streamReply, streamRequest } from '../support/wire.js';
import { HELLO_PACKET, getReply, getRequest, lineText, waitForV2Replies } from './support/v2-wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** Far more than loopback socket buffers hold, so a paused client really stalls the transfer. */
const BIG = 32 * 1024 * 1024;
const SMALL = randomContent(999);

/** A library with `big.wav` (random, BIG bytes) and `small.mp3`, and a server for it. */
async function serverWithBigFile(): Promise<{ port: number; big: string; content: Buffer; server: Awaited<ReturnType<TestHarness['startServer']>> }> {
  const content = randomContent(BIG);
  const root = await harness.library({ 'big.wav': content, 'small.mp3': SMALL });
  const server = await harness.startServer({ root });
  return { port: server.port, big: path.join(root, 'big.wav'), content, server };
}

/** Sends `request` from a paused client and waits until the server is stalled mid-transfer. */
async function stalledTransfer(port: number, request: Buffer): Promise<RawClient> {
  const client = await harness.connect(port, { paused: true });
  await client.send(request);
  await delay(200);
  return client;
}

/** Length of the common prefix of two buffers. */
function commonPrefix(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

describe('a file truncated while it is streamed to a slow reader', () => {
  test('v1: the connection closes short of the announced size, and what came is the file\'s own first bytes', { timeout: 20_000 }, async () => {
    const { port, big, content } = await serverWithBigFile();
    const client = await stalledTransfer(port, streamRequest(0));
    await fsp.truncate(big, 1024 * 1024);
    client.resume();
    const { received } = await client.waitForClose(15_000);
    assert.equal(readU32be(received, 0), BIG, 'the size announced before the truncation');
    const body = received.subarray(4);
    assert.ok(body.length < BIG, `closed after ${body.length} of ${BIG} bytes: never a silently wrong count`);
    assert.equal(commonPrefix(body, content), body.length, 'every byte sent is the file\'s own');
  });

  test('v2: exactly `length` bytes (zero-padded), then ERR FILE_CHANGED, and the connection is still usable', { timeout: 20_000 }, async () => {
    const { port, big, content } = await serverWithBigFile();
    const client = await stalledTransfer(port, Buffer.concat([HELLO_PACKET, getRequest('big.wav')]));
    await fsp.truncate(big, 1024 * 1024);
    client.resume();
    await client.waitForBytes(BIG, 15_000);
    const [reply] = await waitForV2Replies(client, ['get']);
    const { size, length, body, trailer } = getReply(reply);
    assert.deepEqual([size, length, body.length], [BIG, BIG, BIG]);
    assert.match(trailer, /^ERR FILE_CHANGED "big\.wav" shrank during the transfer/);
    const real = commonPrefix(body, content);
    assert.ok(body.subarray(real).every((b) => b === 0), `after the file's first ${real} bytes, only zero padding`);

    await client.send(getRequest('small.mp3'));
    const [, again] = await waitForV2Replies(client, ['get', 'get']);
    assert.deepEqual(getReply(again).body, SMALL);
    assert.equal(getReply(again).trailer, `DONE ${sha256(SMALL)}`);
  });
});

describe('a file that grows while it is streamed', () => {
  test('v1: exactly the announced size, so the next reply on the connection is framed right', { timeout: 20_000 }, async () => {
    const { port, big, content } = await serverWithBigFile();
    const client = await stalledTransfer(port, streamRequest(0));
    const extra = randomContent(100_000);
    await fsp.appendFile(big, extra);
    await client.send(streamRequest(1));
    client.resume();
    const received = await client.waitForBytes(4 + BIG + 4 + SMALL.length, 15_000);
    const first = decodeStreamReply(received, 0);
    assert.equal(first.size, BIG);
    assert.equal(sha256(first.body), sha256(content), 'the file as announced, not a byte more');
    assert.deepEqual(received.subarray(first.end), streamReply(SMALL));
  });

  test('v2: exactly `length` bytes, then ERR FILE_CHANGED; the next GET has the new size and its hash', { timeout: 20_000 }, async () => {
    const { port, big, content } = await serverWithBigFile();
    const client = await stalledTransfer(port, Buffer.concat([HELLO_PACKET, getRequest('big.wav')]));
    const extra = randomContent(100_000);
    await fsp.appendFile(big, extra);
    client.resume();
    await client.waitForBytes(BIG, 15_000);
    const [reply] = await waitForV2Replies(client, ['get']);
    const first = getReply(reply);
    assert.deepEqual([first.size, first.length], [BIG, BIG]);
    assert.equal(sha256(first.body), sha256(content));
    assert.match(first.trailer, /^ERR FILE_CHANGED "big\.wav" changed during the transfer/);

    await client.send(getRequest('big.wav', BIG));
    const [, second] = await waitForV2Replies(client, ['get', 'get']);
    const tail = getReply(second);
    assert.deepEqual([tail.size, tail.offset, tail.length], [BIG + extra.length, BIG, extra.length]);
    assert.deepEqual(tail.body, extra);
    assert.equal(tail.trailer, `DONE ${sha256(Buffer.concat([content, extra]))}`);
  });
});

describe('other changes', () => {
  test('v2: rewritten in place (same size) during the stream: ERR FILE_CHANGED', { timeout: 20_000 }, async () => {
    const { port, big } = await serverWithBigFile();
    const client = await stalledTransfer(port, Buffer.concat([HELLO_PACKET, getRequest('big.wav')]));
    const handle = await fsp.open(big, 'r+');
    await handle.write(Buffer.alloc(4096, 0x55), 0, 4096, BIG - 4096);
    await handle.close();
    const later = new Date(Date.now() + 5_000); // a different time even where mtime is coarse
    await fsp.utimes(big, later, later);
    client.resume();
    await client.waitForBytes(BIG, 15_000);
    const [reply] = await waitForV2Replies(client, ['get']);
    assert.equal(getReply(reply).length, BIG);
    assert.match(getReply(reply).trailer, /^ERR FILE_CHANGED /);
  });

  test('v2: renamed over during the stream: the old file arrives whole, with its own hash (nothing mixed)', { timeout: 20_000 }, async () => {
    const { port, big, content } = await serverWithBigFile();
    const client = await stalledTransfer(port, Buffer.concat([HELLO_PACKET, getRequest('big.wav')]));
    const replacement = path.join(path.dirname(big), 'replacement.tmp');
    await fsp.writeFile(replacement, randomContent(BIG));
    await fsp.rename(replacement, big);
    client.resume();
    await client.waitForBytes(BIG, 15_000);
    const [reply] = await waitForV2Replies(client, ['get']);
    assert.equal(sha256(getReply(reply).body), sha256(content));
    assert.equal(getReply(reply).trailer, `DONE ${sha256(content)}`);
  });

  test('v2: a file deleted after the scan is ERR NOT_FOUND, and the connection stays usable', { timeout: 10_000 }, async () => {
    const root = await harness.library({ 'gone.mp3': 'x', 'small.mp3': SMALL });
    const server = await harness.startServer({ root });
    await fsp.rm(path.join(root, 'gone.mp3'));
    const client = await harness.connect(server.port);
    await client.send(Buffer.concat([HELLO_PACKET, getRequest('gone.mp3'), Buffer.from('INFO "gone.mp3"\r\n'), getRequest('small.mp3')]));
    const replies = await waitForV2Replies(client, ['line', 'line', 'get']);
    assert.equal(lineText(replies[0]), 'ERR NOT_FOUND "gone.mp3" has vanished from the library');
    assert.equal(lineText(replies[1]), 'ERR NOT_FOUND "gone.mp3" has vanished from the library');
    assert.deepEqual(getReply(replies[2]).body, SMALL);
  });

  // Regression: opening a FIFO for reading blocks until a writer comes, and the open ran on
  // libuv's thread pool: a listed file swapped for a FIFO hung the request, and four such
  // requests would have stalled every file operation of the server. Files are now opened
  // non-blocking and must still be regular files once open.
  test('a listed file replaced by a FIFO after the scan is refused at once, not waited on', { timeout: 15_000 }, async (t) => {
    const root = await harness.library({ 'pipe.mp3': 'x', 'small.mp3': SMALL });
    const fifo = path.join(root, 'pipe.mp3');
    const server = await harness.startServer({ root });
    await fsp.rm(fifo);
    try {
      execFileSync('mkfifo', [fifo]);
    } catch (err) {
      t.skip(`cannot make a FIFO here (${(err as Error).message})`);
      return;
    }
    // Should blocked opens be waiting on the FIFO, a writer releases them so this process can
    // exit. Synchronous: the thread pool may be all taken by them.
    harness.defer(() => {
      try {
        closeSync(openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
      } catch {
        // ENXIO: no reader is waiting, which is the point of the fix
      }
    });

    // Four at once: as many as libuv's default thread pool has threads.
    const v2 = await Promise.all([0, 1, 2, 3].map(() => harness.connect(server.port)));
    for (const client of v2) await client.send(Buffer.concat([HELLO_PACKET, getRequest('pipe.mp3'), getRequest('small.mp3')]));
    for (const client of v2) {
      const replies = await waitForV2Replies(client, ['line', 'get']);
      assert.match(lineText(replies[0]), /^ERR UNREADABLE "pipe\.mp3" is no longer a regular file/);
      assert.deepEqual(getReply(replies[1]).body, SMALL);
    }
    const v1 = await harness.connect(server.port);
    await v1.send(Buffer.concat([streamRequest(1), streamRequest(0)]));
    const { received } = await v1.waitForClose();
    assert.deepEqual(received, streamReply(SMALL), 'index 1 answered, then closed at the FIFO');
    assert.ok(server.log.warnings.some((w) => /"pipe\.mp3" is no longer a regular file/.test(w)), server.log.warnings.join('\n'));
  });
});
