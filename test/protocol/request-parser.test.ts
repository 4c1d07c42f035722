import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioStreamError, DEFAULT_MAX_REQUEST_LINE, RequestParser, type Request } from '../../src/protocol/index.js';
import { LIST_REQUEST, STREAM_LINE, bytewise, chunkings, detached, requestLine, streamRequest, u32be } from '../support/wire.js';

/** Feeds every chunk to a fresh parser and returns all requests, in order. */
function parseAll(chunks: readonly Buffer[], parser = new RequestParser()): Request[] {
  const requests: Request[] = [];
  for (const chunk of chunks) requests.push(...parser.feed(chunk));
  return requests;
}

/** True for an AudioStreamError with the given code (for assert.throws). */
function hasCode(code: string) {
  return (err: unknown): boolean => err instanceof AudioStreamError && err.code === code;
}

interface Fixture {
  name: string;
  bytes: Buffer;
  expected: Request[];
}

const stream = (index: number): Request => ({ kind: 'stream', index });
const list: Request = { kind: 'list' };
const unknown = (line: string): Request => ({ kind: 'unknown', line });

const FIXTURES: Fixture[] = [
  { name: 'LIST', bytes: LIST_REQUEST, expected: [list] },
  { name: 'STREAM 0', bytes: streamRequest(0), expected: [stream(0)] },
  { name: 'STREAM 1', bytes: streamRequest(1), expected: [stream(1)] },
  { name: 'STREAM 0x01020304 (byte order)', bytes: streamRequest(0x01020304), expected: [stream(0x01020304)] },
  { name: 'STREAM 2^32-1', bytes: streamRequest(0xffff_ffff), expected: [stream(0xffff_ffff)] },
  { name: 'STREAM whose index bytes are CR LF CR LF', bytes: streamRequest(0x0d0a0d0a), expected: [stream(0x0d0a0d0a)] },
  { name: 'STREAM whose index ends in LF', bytes: streamRequest(0x0000000a), expected: [stream(10)] },
  { name: 'STREAM whose index starts with LF', bytes: streamRequest(0x0a000000), expected: [stream(0x0a000000)] },
  { name: 'STREAM whose index ends in CR', bytes: streamRequest(0x0000000d), expected: [stream(13)] },
  // The index bytes spell "LIST": they must not be taken for a request line.
  { name: 'STREAM whose index bytes spell LIST', bytes: streamRequest(0x4c495354), expected: [stream(0x4c495354)] },
  { name: 'LIST ended by a bare LF', bytes: Buffer.from('LIST\n', 'latin1'), expected: [list] },
  { name: 'STREAM ended by a bare LF', bytes: Buffer.concat([Buffer.from('STREAM\n', 'latin1'), u32be(7)]), expected: [stream(7)] },
  { name: 'empty line (CR LF)', bytes: Buffer.from([0x0d, 0x0a]), expected: [unknown('')] },
  { name: 'empty line (bare LF)', bytes: Buffer.from([0x0a]), expected: [unknown('')] },
  { name: 'unknown word', bytes: requestLine('HELLO'), expected: [unknown('HELLO')] },
  { name: 'lower-case list is unknown', bytes: requestLine('list'), expected: [unknown('list')] },
  { name: 'LIST with a trailing space is unknown', bytes: requestLine('LIST '), expected: [unknown('LIST ')] },
  { name: 'STREAM with an argument on its line is unknown', bytes: requestLine('STREAM 1'), expected: [unknown('STREAM 1')] },
  { name: 'a stray CR before CR LF stays in the line', bytes: Buffer.from('LIST\r\r\n', 'latin1'), expected: [unknown('LIST\r')] },
  // Lines are decoded as UTF-8 (v1 lines are ASCII; v2 lines carry paths in any script).
  { name: 'UTF-8 text in an unknown line', bytes: Buffer.from('NOPE café ♪ 🎵\r\n', 'utf8'), expected: [unknown('NOPE café ♪ 🎵')] },
  { name: 'bytes that are not UTF-8 in an unknown line', bytes: Buffer.from([0xff, 0x00, 0x80, 0x0d, 0x0a]), expected: [unknown('\ufffd\x00\ufffd')] },
];

describe('RequestParser', () => {
  for (const fixture of FIXTURES) {
    test(`${fixture.name}: whole, byte by byte, split at every position`, () => {
      for (const { name, chunks } of chunkings(fixture.bytes, { threePieces: true })) {
        assert.deepEqual(parseAll(chunks), fixture.expected, `${fixture.name}, ${name}`);
      }
    });
  }

  test('all fixtures back to back in one chunk, byte by byte and split at every position', () => {
    const all = Buffer.concat(FIXTURES.map((f) => f.bytes));
    const expected = FIXTURES.flatMap((f) => f.expected);
    for (const { name, chunks } of chunkings(all)) {
      assert.deepEqual(parseAll(chunks), expected, name);
    }
  });

  test('several requests in one chunk come out in order', () => {
    const chunk = Buffer.concat([LIST_REQUEST, streamRequest(3), requestLine('NOPE'), streamRequest(0), LIST_REQUEST]);
    assert.deepEqual(new RequestParser().feed(chunk), [list, stream(3), unknown('NOPE'), stream(0), list]);
  });

  test('STREAM followed by its index in a later chunk, and nothing before', () => {
    const parser = new RequestParser();
    assert.deepEqual(parser.feed(STREAM_LINE), []);
    assert.deepEqual(parser.feed(Buffer.from([0x00, 0x00])), []);
    assert.deepEqual(parser.feed(Buffer.from([0x00, 0x01])), [stream(1)]);
  });

  test('bufferedBytes counts what waits for the rest of a request, and drops to 0 when complete', () => {
    const parser = new RequestParser();
    parser.feed(Buffer.from('LI', 'latin1'));
    assert.equal(parser.bufferedBytes, 2);
    parser.feed(Buffer.from('ST\r\nSTREAM\r\n\x00', 'latin1'));
    assert.equal(parser.bufferedBytes, 1, 'one index byte of the STREAM request');
    parser.feed(Buffer.from([0, 0, 5]));
    assert.equal(parser.bufferedBytes, 0);
  });

  test('keeps its own copy of a partial request: the caller may reuse the chunk buffer', () => {
    const parser = new RequestParser();
    const chunk = Buffer.concat([STREAM_LINE, Buffer.from([0x00, 0x00])]);
    assert.deepEqual(parser.feed(chunk), []);
    chunk.fill(0xff); // a socket may hand out pooled memory again
    assert.deepEqual(parser.feed(Buffer.from([0x00, 0x02])), [stream(2)]);
  });

  test('detached chunks (no shared memory) parse the same as views of one buffer', () => {
    const all = Buffer.concat(FIXTURES.map((f) => f.bytes));
    assert.deepEqual(parseAll(detached(bytewise(all))), FIXTURES.flatMap((f) => f.expected));
  });

  test('an empty chunk changes nothing', () => {
    const parser = new RequestParser();
    assert.deepEqual(parser.feed(Buffer.alloc(0)), []);
    assert.deepEqual(parser.feed(Buffer.from('LIS', 'latin1')), []);
    assert.deepEqual(parser.feed(Buffer.alloc(0)), []);
    assert.deepEqual(parser.feed(Buffer.from('T\r\n', 'latin1')), [list]);
  });

  describe('line-length limit', () => {
    const max = DEFAULT_MAX_REQUEST_LINE;

    test(`a line of exactly the limit (${max} bytes) is accepted with CR LF or a bare LF`, () => {
      const text = 'A'.repeat(max);
      for (const { name, chunks } of chunkings(requestLine(text))) {
        assert.deepEqual(parseAll(chunks), [unknown(text)], name);
      }
      assert.deepEqual(parseAll([Buffer.from(`${text}\n`, 'latin1')]), [unknown(text)]);
    });

    test('a line one byte over the limit is REQUEST_TOO_LONG, whole and byte by byte', () => {
      const bytes = requestLine('A'.repeat(max + 1));
      assert.throws(() => new RequestParser().feed(bytes), hasCode('REQUEST_TOO_LONG'));
      assert.throws(() => parseAll(bytewise(bytes)), hasCode('REQUEST_TOO_LONG'));
      assert.throws(() => new RequestParser().feed(Buffer.from(`${'A'.repeat(max + 1)}\n`, 'latin1')), hasCode('REQUEST_TOO_LONG'));
    });

    test('a flood without any newline is refused as soon as no legal line could fit, not later', () => {
      // limit + CR is still a legal prefix; one byte more cannot be.
      const parser = new RequestParser();
      for (let i = 1; i <= max + 1; i++) {
        assert.deepEqual(parser.feed(Buffer.from('x', 'latin1')), [], `byte ${i} must be accepted`);
      }
      assert.throws(() => parser.feed(Buffer.from('x', 'latin1')), hasCode('REQUEST_TOO_LONG'));
    });

    test('a 16 MiB flood without newline in one chunk is REQUEST_TOO_LONG', () => {
      assert.throws(() => new RequestParser().feed(Buffer.alloc(16 * 1024 * 1024, 0x41)), hasCode('REQUEST_TOO_LONG'));
    });

    test('a flood after valid requests in the same chunk is still refused', () => {
      const chunk = Buffer.concat([LIST_REQUEST, streamRequest(1), Buffer.alloc(max + 2, 0x41)]);
      assert.throws(() => new RequestParser().feed(chunk), hasCode('REQUEST_TOO_LONG'));
    });

    test('the limit counts the line, not the binary STREAM index after it', () => {
      // "STREAM" is 6 bytes: with a limit of 6 its line fits, and the 4 index bytes don't count.
      const parser = new RequestParser({ maxLineLength: 6 });
      assert.deepEqual(parseAll([streamRequest(0x41414141), LIST_REQUEST], parser), [stream(0x41414141), list]);
      assert.throws(() => new RequestParser({ maxLineLength: 5 }).feed(streamRequest(0)), hasCode('REQUEST_TOO_LONG'));
    });

    test('a custom limit applies at its own boundary', () => {
      const parser = new RequestParser({ maxLineLength: 16 });
      assert.deepEqual(parser.feed(requestLine('B'.repeat(16))), [unknown('B'.repeat(16))]);
      assert.throws(() => parser.feed(requestLine('B'.repeat(17))), hasCode('REQUEST_TOO_LONG'));
    });
  });
});
