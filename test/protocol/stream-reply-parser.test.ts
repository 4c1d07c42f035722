import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StreamReplyParser } from '../../src/protocol/index.js';
import { bytewise, chunkings, splitAt, streamHeader, streamReply } from '../support/wire.js';

interface ParseResult {
  size: number | undefined;
  body: Buffer;
  rest: Buffer;
  done: boolean;
  /** size and done after each feed */
  trace: { size: number | undefined; done: boolean }[];
}

function parseAll(chunks: readonly Buffer[]): ParseResult {
  const parser = new StreamReplyParser();
  const body: Buffer[] = [];
  const rest: Buffer[] = [];
  const trace: ParseResult['trace'] = [];
  for (const chunk of chunks) {
    const out = parser.feed(chunk);
    if (out.body) body.push(out.body);
    if (out.rest) rest.push(out.rest);
    trace.push({ size: parser.size, done: parser.done });
  }
  assert.equal(parser.received, Buffer.concat(body).length, 'received counts the body bytes handed out');
  return { size: parser.size, body: Buffer.concat(body), rest: Buffer.concat(rest), done: parser.done, trace };
}

const BODY = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x41, 0x42, 0x43]);

describe('StreamReplyParser', () => {
  test('header split at every position, body byte by byte and in every two pieces', () => {
    const bytes = streamReply(BODY);
    for (const { name, chunks } of chunkings(bytes, { threePieces: true })) {
      const result = parseAll(chunks);
      assert.equal(result.size, BODY.length, name);
      assert.deepEqual(result.body, BODY, name);
      assert.equal(result.rest.length, 0, name);
      assert.equal(result.done, true, name);
    }
  });

  test('size is unknown until the 4th header byte, then read big-endian', () => {
    const parser = new StreamReplyParser();
    const header = streamHeader(0x01020304);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(parser.feed(header.subarray(i, i + 1)), { body: undefined, rest: undefined });
      assert.equal(parser.size, undefined, `after ${i + 1} header bytes`);
      assert.equal(parser.done, false);
    }
    parser.feed(header.subarray(3));
    assert.equal(parser.size, 0x01020304);
    assert.equal(parser.done, false);
  });

  test('done turns true exactly with the last body byte', () => {
    const chunks = bytewise(streamReply(BODY));
    const { trace } = parseAll(chunks);
    assert.deepEqual(
      trace.map((t) => t.done),
      chunks.map((_, i) => i === chunks.length - 1),
    );
  });

  test('body bytes are views into the fed chunk, not copies', () => {
    const chunk = streamReply(Buffer.alloc(1000, 7));
    const out = new StreamReplyParser().feed(chunk);
    assert.ok(out.body);
    assert.equal(out.body.buffer, chunk.buffer, 'same memory');
    assert.equal(out.body.byteOffset, chunk.byteOffset + 4);
    assert.equal(out.body.length, 1000);
  });

  test('bytes after the body come back as rest, whatever the split', () => {
    const after = Buffer.from('NEXT\x00\x00\x00\x01', 'latin1');
    const bytes = Buffer.concat([streamReply(BODY), after]);
    for (const { name, chunks } of chunkings(bytes)) {
      const result = parseAll(chunks);
      assert.deepEqual(result.body, BODY, name);
      assert.deepEqual(result.rest, after, name);
    }
  });

  test('a second reply in the rest parses with a new parser', () => {
    const second = Buffer.from('second body', 'latin1');
    const out = new StreamReplyParser().feed(Buffer.concat([streamReply(BODY), streamReply(second)]));
    assert.deepEqual(out.body, BODY);
    assert.ok(out.rest);
    const next = new StreamReplyParser().feed(out.rest);
    assert.deepEqual(next.body, second);
    assert.equal(next.rest, undefined);
  });

  describe('size 0', () => {
    test('done as soon as the header is in, with no body', () => {
      for (const { name, chunks } of chunkings(streamHeader(0))) {
        const result = parseAll(chunks);
        assert.equal(result.size, 0, name);
        assert.equal(result.body.length, 0, name);
        assert.equal(result.done, true, name);
      }
    });

    test('bytes after an empty body are all rest', () => {
      const after = Buffer.from([0, 0, 0, 2, 0x61, 0x62]);
      const out = new StreamReplyParser().feed(Buffer.concat([streamHeader(0), after]));
      assert.equal(out.body, undefined);
      assert.deepEqual(out.rest, after);
    });
  });

  test('the largest v1 size (2^32-1) is read without overflow', () => {
    const parser = new StreamReplyParser();
    const out = parser.feed(Buffer.concat([streamHeader(0xffff_ffff), Buffer.alloc(10)]));
    assert.equal(parser.size, 0xffff_ffff);
    assert.equal(out.body?.length, 10);
    assert.equal(parser.received, 10);
    assert.equal(parser.done, false);
  });

  test('an empty chunk changes nothing, before and after the header', () => {
    const parser = new StreamReplyParser();
    assert.deepEqual(parser.feed(Buffer.alloc(0)), { body: undefined, rest: undefined });
    const [head, tail] = splitAt(streamReply(Buffer.from('xy', 'latin1')), [4]);
    parser.feed(head!);
    assert.deepEqual(parser.feed(Buffer.alloc(0)), { body: undefined, rest: undefined });
    assert.deepEqual(parser.feed(tail!).body, Buffer.from('xy', 'latin1'));
    assert.equal(parser.done, true);
  });
});
