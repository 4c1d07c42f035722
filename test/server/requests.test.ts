/** How the server frames requests on a real socket: pipelining, splits, unknown and over-long lines. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_MAX_REQUEST_LINE } from '../../src/protocol/index.js';
import { TestHarness, delay, randomContent, type RunningServer } from '../support/server-harness.js';
import { LIST_REQUEST, STREAM_LINE, decodeStreamReply, listReply, requestLine, streamReply, streamRequest } from '../support/wire.js';

// 14 files, so that indexes 10 (0x0a, LF) and 13 (0x0d, CR) exist: their index bytes look
// like line endings and must be read as binary.
const FILES = Array.from({ length: 14 }, (_, i) => ({
  path: `track ${String(i).padStart(2, '0')}.mp3`,
  content: randomContent(100 + i * 37),
}));
const PATHS = FILES.map((f) => f.path);
const reply = (i: number): Buffer => streamReply(FILES[i]!.content);

const harness = new TestHarness();
let server: RunningServer;

before(async () => {
  const root = await harness.library(Object.fromEntries(FILES.map((f) => [f.path, f.content])));
  server = await harness.startServer({ root });
});
after(() => harness.cleanup());

/** Sends the pieces (with `gapMs` between them), half-closes, and returns all that came back. */
async function exchange(pieces: Buffer[], gapMs = 0, port = server.port): Promise<Buffer> {
  const client = await harness.connect(port);
  for (const [i, piece] of pieces.entries()) {
    if (i > 0 && gapMs > 0) await delay(gapMs);
    await client.send(piece);
  }
  await client.end();
  return (await client.waitForClose()).received;
}

describe('request framing over TCP', () => {
  test('several requests in one packet are answered in order', { timeout: 10_000 }, async () => {
    const packet = Buffer.concat([LIST_REQUEST, streamRequest(3), requestLine('PING'), streamRequest(0), LIST_REQUEST, streamRequest(3)]);
    const received = await exchange([packet]);
    assert.deepEqual(received, Buffer.concat([listReply(PATHS), reply(3), reply(0), listReply(PATHS), reply(3)]));
  });

  test('STREAM indexes whose bytes are LF (10) and CR (13) pick those files', { timeout: 10_000 }, async () => {
    const received = await exchange([Buffer.concat([streamRequest(10), streamRequest(13), LIST_REQUEST, streamRequest(10)])]);
    assert.deepEqual(received, Buffer.concat([reply(10), reply(13), listReply(PATHS), reply(10)]));
  });

  test('a STREAM request split inside its index, sent 100 ms apart, is answered once whole', { timeout: 10_000 }, async () => {
    const client = await harness.connect(server.port);
    await client.send(Buffer.concat([STREAM_LINE, Buffer.from([0x00, 0x00])]));
    await delay(100);
    assert.equal(client.receivedLength, 0, 'no reply to half a request');
    await client.send(Buffer.from([0x00, 0x01]));
    const received = await client.waitForBytes(reply(1).length);
    assert.deepEqual(received, reply(1));
  });

  test('requests sent in delayed pieces cut at awkward places', { timeout: 10_000 }, async () => {
    const pieces = [
      Buffer.from('LI', 'latin1'),
      Buffer.from('ST\r', 'latin1'),
      Buffer.from('\nSTR', 'latin1'),
      Buffer.from('EAM\r\n\x00', 'latin1'),
      Buffer.from([0x00, 0x00]),
      Buffer.concat([Buffer.from([0x02]), STREAM_LINE.subarray(0, 7)]), // ends on the CR
      Buffer.concat([STREAM_LINE.subarray(7), Buffer.from([0, 0, 0, 13])]),
    ];
    const received = await exchange(pieces, 30);
    assert.deepEqual(received, Buffer.concat([listReply(PATHS), reply(2), reply(13)]));
  });

  test('a request sent one byte per packet', { timeout: 10_000 }, async () => {
    const bytes = streamRequest(4);
    const received = await exchange([...bytes].map((b) => Buffer.from([b])), 5);
    assert.deepEqual(received, reply(4));
  });

  test('unknown lines are ignored: nothing is sent for them', { timeout: 10_000 }, async () => {
    const unknown = ['PING', 'list', 'LIST ', 'STREAM 1', '', 'café ♪'].map(requestLine);
    const notUtf8 = Buffer.from([0xff, 0xfe, 0x0d, 0x0a]);
    assert.equal((await exchange([...unknown, notUtf8])).length, 0);
  });

  test('unknown lines between requests do not disturb them', { timeout: 10_000 }, async () => {
    const received = await exchange([Buffer.concat([requestLine('FOO'), LIST_REQUEST, requestLine('BAR'), streamRequest(5), Buffer.from('\n')])]);
    assert.deepEqual(received, Buffer.concat([listReply(PATHS), reply(5)]));
  });

  test('a bare LF ends a request line too', { timeout: 10_000 }, async () => {
    const received = await exchange([Buffer.from('LIST\nSTREAM\n\x00\x00\x00\x01', 'latin1')]);
    assert.deepEqual(received, Buffer.concat([listReply(PATHS), reply(1)]));
  });

  test('many pipelined requests from a half-closed client are all answered (the read side pauses and resumes)', { timeout: 10_000 }, async () => {
    const queued = await harness.startServer({ root: server.root, server: { maxQueuedRequests: 2 } });
    const indexes = Array.from({ length: 300 }, (_, i) => (i * 7) % FILES.length);
    const received = await exchange([Buffer.concat(indexes.map(streamRequest))], 0, queued.port);
    let offset = 0;
    for (const [n, index] of indexes.entries()) {
      const r = decodeStreamReply(received, offset);
      assert.ok(r.body.equals(FILES[index]!.content), `reply ${n} (index ${index})`);
      offset = r.end;
    }
    assert.equal(offset, received.length);
  });

  describe('request line limit', () => {
    const max = DEFAULT_MAX_REQUEST_LINE;

    test(`a line of exactly ${max} bytes is an ignored unknown line, not an error`, { timeout: 10_000 }, async () => {
      const received = await exchange([requestLine('x'.repeat(max)), LIST_REQUEST]);
      assert.deepEqual(received, listReply(PATHS));
    });

    test('an over-long line closes the connection without a reply', { timeout: 10_000 }, async () => {
      const client = await harness.connect(server.port);
      await client.send(requestLine('x'.repeat(max + 1)));
      const { received } = await client.waitForClose();
      assert.equal(received.length, 0);
    });

    test('a flood without any newline closes the connection', { timeout: 10_000 }, async () => {
      const client = await harness.connect(server.port);
      // The server closes mid-flood; a write error on our side is expected, not a failure.
      client.send(Buffer.alloc(4 * 1024 * 1024, 0x41)).catch(() => {});
      const { received } = await client.waitForClose();
      assert.equal(received.length, 0);
    });

    test('replies to earlier requests arrive before the close', { timeout: 10_000 }, async () => {
      const client = await harness.connect(server.port);
      await client.send(LIST_REQUEST);
      await client.waitForBytes(listReply(PATHS).length);
      await client.send(requestLine('y'.repeat(max + 10)));
      const { received } = await client.waitForClose();
      assert.deepEqual(received, listReply(PATHS));
    });

    test('another client is unaffected', { timeout: 10_000 }, async () => {
      const other = await harness.connect(server.port);
      const bad = await harness.connect(server.port);
      await bad.send(requestLine('z'.repeat(max + 1)));
      await bad.waitForClose();
      await other.send(streamRequest(7));
      assert.deepEqual(await other.waitForBytes(reply(7).length), reply(7));
    });
  });

  test('an empty library answers LIST with nothing at all', { timeout: 10_000 }, async () => {
    const empty = await harness.startServer({ root: await harness.library() });
    const received = await exchange([LIST_REQUEST, LIST_REQUEST], 0, empty.port);
    assert.equal(received.length, 0);
  });
});
