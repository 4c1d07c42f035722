/**
 * Backpressure of one ServerConnection, driven through an in-memory socket whose reader we
 * control byte for byte. Loopback TCP hides these bugs behind megabytes of kernel buffer
 * (hundreds of thousands of 4-byte replies), so here the "client" is a Duplex with a
 * 64-byte high-water mark that accepts nothing until the test lets it read.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { after, describe, test } from 'node:test';
import { Library } from '../../src/library/index.js';
import { ServerConnection } from '../../src/server/index.js';
import { CapturingLogger, TestHarness, randomContent } from '../support/server-harness.js';
import { streamReply, streamRequest } from '../support/wire.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const HIGH_WATER_MARK = 64;

/**
 * The parts of a net.Socket that ServerConnection uses, over a Duplex. Writes are held
 * (their callbacks not called) until {@link startReading}, like a peer that does not read.
 */
class StalledSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  /** Bytes the "client" has taken, in order. */
  private readonly taken: Buffer[] = [];
  private readonly held: { callback: () => void; length: number }[] = [];
  private reading = false;
  /** Bytes whose write has completed (the client took them). */
  private acknowledged = 0;

  constructor() {
    super({ writableHighWaterMark: HIGH_WATER_MARK, allowHalfOpen: true });
  }

  setNoDelay(): this {
    return this;
  }

  /** Idle timeouts are not what these tests are about: never fire. */
  setTimeout(): this {
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.taken.push(Buffer.from(chunk));
    if (this.reading) {
      this.acknowledged += chunk.length;
      callback();
    } else {
      this.held.push({ callback, length: chunk.length });
    }
  }

  /** The client starts reading: everything held and everything after flows. */
  startReading(): void {
    this.reading = true;
    for (const { callback, length } of this.held.splice(0)) {
      this.acknowledged += length;
      callback();
    }
  }

  /** What the client has been given so far. */
  get received(): Buffer {
    return Buffer.concat(this.taken);
  }

  /**
   * Bytes the server has produced: taken by the client, or still counted in the socket's
   * buffer (writableLength includes a write handed to _write until its callback runs).
   */
  get produced(): number {
    return this.acknowledged + this.writableLength;
  }
}

/** Polls `condition` until true; fails with `what` after `timeoutMs` (a hang is the bug, not slowness). */
async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function connectionOver(files: Record<string, Buffer | string>, socket: StalledSocket): Promise<void> {
  const library = await Library.open(await harness.library(files), { rescanIntervalMs: 0, watchDebounceMs: 0, readTags: false });
  harness.defer(() => library.close());
  harness.defer(() => {
    socket.destroy();
  });
  // StalledSocket has every member of net.Socket that ServerConnection uses, not the type.
  new ServerConnection(socket as unknown as Socket, {
    library,
    log: new CapturingLogger(),
    maxRequestLine: 1024,
    readChunkSize: 1024,
    maxQueuedRequests: 64,
  });
}

describe('ServerConnection backpressure', () => {
  // Regression: a reply to STREAM of an empty file never waited for the socket to drain,
  // so a client that asked for one over and over without reading made the server buffer
  // 4 bytes per request without limit.
  test('replies to a client that does not read stop at the high-water mark, even for empty files', { timeout: 10_000 }, async () => {
    const socket = new StalledSocket();
    await connectionOver({ 'empty.wav': '' }, socket);
    const requests = 1000;
    socket.push(Buffer.concat(Array.from({ length: requests }, () => streamRequest(0))));

    await until(() => socket.listenerCount('drain') > 0 || socket.produced === 4 * requests, 'the connection to wait or finish');
    assert.ok(socket.listenerCount('drain') > 0, 'the connection waits for the client to read');
    assert.ok(socket.produced < 4 * requests, `produced ${socket.produced} bytes for a client that reads nothing`);
    assert.ok(socket.writableLength <= 2 * HIGH_WATER_MARK, `buffered ${socket.writableLength} bytes`);

    socket.startReading();
    await until(() => socket.received.length === 4 * requests, 'every reply once the client reads');
    assert.deepEqual(socket.received, Buffer.alloc(4 * requests));
  });

  test('requests from a client that does not read are taken in only up to maxQueuedRequests', { timeout: 10_000 }, async () => {
    const socket = new StalledSocket();
    await connectionOver({ 'a.flac': randomContent(5000) }, socket);
    const requests = 500;
    const request = streamRequest(0);
    for (let i = 0; i < requests; i++) socket.push(request); // one request per chunk, as packets would come

    await until(() => socket.listenerCount('drain') > 0, 'the connection to wait for the client');
    assert.equal(socket.isPaused(), true, 'the connection stopped reading');
    const unread = socket.readableLength / request.length;
    assert.ok(unread >= requests - 64 - 2, `only ${requests - unread} requests should have been taken in, with 64 allowed to queue`);

    socket.startReading();
    await until(() => socket.received.length === requests * (4 + 5000), 'every reply once the client reads');
  });

  // Regression: the stream header and first chunk are corked together, and the connection
  // waited for 'drain' while still corked. Corked bytes are never flushed, so 'drain' never
  // came: any file larger than the high-water mark hung before its first byte.
  test('a file larger than the high-water mark is sent whole once the client reads', { timeout: 10_000 }, async () => {
    const content = randomContent(5000);
    const socket = new StalledSocket();
    await connectionOver({ 'a.flac': content }, socket);
    socket.push(streamRequest(0));
    socket.startReading();
    await until(() => socket.received.length === 4 + content.length, 'the whole reply');
    assert.deepEqual(socket.received, streamReply(content));
  });

  test('a file larger than the high-water mark, to a client that starts reading late', { timeout: 10_000 }, async () => {
    const content = randomContent(5000);
    const socket = new StalledSocket();
    await connectionOver({ 'a.flac': content }, socket);
    socket.push(Buffer.concat([streamRequest(0), streamRequest(0)]));
    await until(() => socket.listenerCount('drain') > 0, 'the connection to wait for the client');
    assert.ok(socket.produced < 2 * (4 + content.length));
    socket.startReading();
    await until(() => socket.received.length === 2 * (4 + content.length), 'both replies');
    assert.deepEqual(socket.received, Buffer.concat([streamReply(content), streamReply(content)]));
  });
});
