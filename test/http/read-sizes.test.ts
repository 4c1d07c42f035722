/**
 * How the file responder reads: large reads for a client that keeps up, small ones for a slow
 * client (so a slow or stalled connection pins little memory). Real server, real files, real
 * sockets; the reads are observed by wrapping FileHandle.prototype.read for the test's length
 * (every read still goes to the real file).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { MAX_READ_CHUNK, MIN_READ_CHUNK } from '../../src/http/file-responder.js';
import { TEST_HOST, WebHarness, request, sha256 } from './support/web-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

type Read = { length: number; position: number };

/** Records the length and position of every FileHandle read while `body` runs. */
async function recordingReads<T>(body: (reads: Read[]) => Promise<T>): Promise<T> {
  const probe = await fsp.open(process.execPath, 'r');
  const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<unknown> };
  await probe.close();
  const original = proto.read;
  const reads: Read[] = [];
  proto.read = function (this: unknown, ...args: unknown[]) {
    if (Buffer.isBuffer(args[0])) reads.push({ length: Number(args[2] ?? (args[0] as Buffer).length), position: Number(args[3] ?? -1) });
    return original.apply(this, args);
  };
  try {
    return await body(reads);
  } finally {
    proto.read = original;
  }
}

/** A GET read by a client that takes one socket read (≤ 64 KiB) every 10 ms: ~6 MB/s at most. */
function slowGet(port: number, urlPath: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, TEST_HOST);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      socket.pause();
      setTimeout(() => socket.resume(), 10);
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
    });
    socket.write(`GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  });
}

describe('file responder read sizes', () => {
  test('a client that keeps up is served in 1 MiB reads; a slow one in 64 KiB reads', { timeout: 60_000 }, async () => {
    const root = await harness.tempDir();
    const fast = randomBytes(64 * 1024 * 1024);
    const slow = randomBytes(24 * 1024 * 1024);
    await fsp.writeFile(path.join(root, 'fast.wav'), fast);
    await fsp.writeFile(path.join(root, 'slow.wav'), slow);
    const library = await harness.openLibrary(root);
    const { port } = await harness.start(library);

    const fastReads = await recordingReads(async (reads) => {
      const res = await request(port, `/files/${library.store.track('fast.wav')!.id}`);
      assert.equal(sha256(res.body), sha256(fast));
      return reads;
    });
    const bigBytes = fastReads.filter((r) => r.length === MAX_READ_CHUNK).length * MAX_READ_CHUNK;
    assert.ok(bigBytes >= fast.length / 2, `of 64 MiB, ${bigBytes} bytes were read 1 MiB at a time (reads: ${fastReads.length})`);

    const slowReads = await recordingReads(async (reads) => {
      const body = await slowGet(port, `/files/${library.store.track('slow.wav')!.id}`);
      assert.equal(createHash('sha256').update(body).digest('hex'), sha256(slow));
      return reads;
    });
    // The first megabytes go into the kernel's socket buffers at memory speed; after that the
    // client's own pace decides.
    const late = slowReads.filter((r) => r.position >= slow.length / 2);
    assert.ok(late.length > 0);
    assert.deepEqual([...new Set(late.map((r) => r.length))].filter((n) => n > MIN_READ_CHUNK), [], `reads past 16 MiB: ${late.map((r) => r.length).join(' ')}`);
  });
});
