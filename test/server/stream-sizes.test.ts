/** STREAM of generated files at every size boundary that matters, over real sockets. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_READ_CHUNK_SIZE } from '../../src/server/index.js';
import { TestHarness, randomContent, sha256, type RunningServer } from '../support/server-harness.js';
import { LIST_REQUEST, decodeStreamReply, listReply, streamRequest } from '../support/wire.js';

const C = DEFAULT_READ_CHUNK_SIZE;
const SIZES: [string, number][] = [
  ['empty', 0],
  ['one byte', 1],
  ['read chunk size - 1', C - 1],
  ['read chunk size', C],
  ['read chunk size + 1', C + 1],
  ['65535', 65535],
  ['65536', 65536],
  ['65537', 65537],
  ['several MB', 6 * 1024 * 1024 + 3],
];

// File names carry their position, so v1 index i is SIZES[i].
const FILES = SIZES.map(([, size], i) => ({ path: `${String(i).padStart(2, '0')}-${size}.wav`, content: randomContent(size) }));

const harness = new TestHarness();
let server: RunningServer;

before(async () => {
  const root = await harness.library(Object.fromEntries(FILES.map((f) => [f.path, f.content])));
  server = await harness.startServer({ root });
});
after(() => harness.cleanup());

async function fetchStream(index: number, port = server.port): Promise<Buffer> {
  const client = await harness.connect(port);
  await client.send(streamRequest(index));
  await client.end();
  const { received } = await client.waitForClose();
  const reply = decodeStreamReply(received);
  assert.equal(reply.end, received.length, 'nothing after the body');
  return reply.body;
}

describe(`STREAM sizes (read chunk ${C} bytes)`, () => {
  test('LIST names every generated file', { timeout: 10_000 }, async () => {
    const client = await harness.connect(server.port);
    await client.send(LIST_REQUEST);
    await client.end();
    assert.deepEqual((await client.waitForClose()).received, listReply(FILES.map((f) => f.path)));
  });

  for (const [i, [name, size]] of SIZES.entries()) {
    test(`${name} (${size} bytes) arrives whole, byte for byte`, { timeout: 10_000 }, async () => {
      const body = await fetchStream(i);
      assert.equal(body.length, size);
      assert.equal(sha256(body), sha256(FILES[i]!.content));
    });
  }

  test('all sizes back to back on one connection, in one packet', { timeout: 10_000 }, async () => {
    const client = await harness.connect(server.port);
    await client.send(Buffer.concat(FILES.map((_, i) => streamRequest(i))));
    await client.end();
    const { received } = await client.waitForClose();
    let offset = 0;
    for (const file of FILES) {
      const reply = decodeStreamReply(received, offset);
      assert.equal(reply.size, file.content.length, `size of ${file.path}`);
      assert.ok(reply.body.equals(file.content), `body of ${file.path}`);
      offset = reply.end;
    }
    assert.equal(offset, received.length);
  });

  test('a server with a small read chunk (4096) sends the same bytes', { timeout: 10_000 }, async () => {
    const small = await harness.startServer({ root: server.root, server: { readChunkSize: 4096 } });
    const last = FILES.length - 1;
    assert.equal(sha256(await fetchStream(last, small.port)), sha256(FILES[last]!.content));
    assert.equal(sha256(await fetchStream(2, small.port)), sha256(FILES[2]!.content));
  });

  // Regression: the header and first chunk are corked together, and the server waited for
  // 'drain' while still corked; corked bytes never drain, so every file bigger than the
  // socket's high-water mark (16 KiB) hung after nothing at all had been sent.
  test('a file bigger than the socket high-water mark does not hang before its first byte', { timeout: 10_000 }, async () => {
    const client = await harness.connect(server.port);
    await client.send(streamRequest(5)); // 65535 bytes
    const received = await client.waitForBytes(4 + 65535);
    assert.ok(decodeStreamReply(received).body.equals(FILES[5]!.content));
  });
});
