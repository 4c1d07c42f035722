/**
 * Property-based tests: random bytes never make a parser throw anything but an
 * AudioStreamError, and cutting a valid byte stream at random points never changes what
 * comes out. Runs are bounded so the suite stays fast.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ListParser,
  RequestParser,
  StreamReplyParser,
  type ListEntry,
  type Request,
} from '../../src/protocol/index.js';
import { LIST_REQUEST, listReply, requestLine, streamReply, streamRequest } from '../support/wire.js';
import { outcome, withSplits } from '../support/fuzzing.js';

const RUNS = { numRuns: 200 };

const byteSoup = fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a));

/**
 * Random bytes biased towards protocol tokens, so that soup also contains near-valid
 * requests and list lines, not only noise.
 */
const tokenSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom('LIST', 'STREAM', '\r\n', '\n', '\r', '0', '1', '9', ':', 'a', 'é', '🎵').map((s) => Buffer.from(s, 'utf8')),
      fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    ),
    { maxLength: 200 },
  )
  .map((parts) => Buffer.concat(parts));

const anySoup = fc.oneof(byteSoup, tokenSoup);


function parseRequests(chunks: readonly Buffer[], maxLineLength: number): Request[] {
  const parser = new RequestParser({ maxLineLength });
  return chunks.flatMap((c) => parser.feed(c));
}

function parseList(chunks: readonly Buffer[], options: { maxLineLength: number; maxEntries: number }): { entries: ListEntry[]; rest: Buffer } {
  const parser = new ListParser(options);
  const entries = chunks.flatMap((c) => parser.feed(c));
  return { entries, rest: parser.takeRest() };
}

describe('fuzzing', () => {
  describe('RequestParser', () => {
    test('byte soup throws nothing but AudioStreamError, and splitting changes nothing', () => {
      fc.assert(
        fc.property(withSplits(anySoup), fc.integer({ min: 1, max: 64 }), ({ bytes, chunks }, maxLineLength) => {
          const whole = outcome(() => parseRequests([bytes], maxLineLength));
          const split = outcome(() => parseRequests(chunks, maxLineLength));
          if (!whole.ok) assert.equal(whole.code, 'REQUEST_TOO_LONG');
          assert.deepEqual(split, whole);
        }),
        RUNS,
      );
    });

    const request: fc.Arbitrary<Request> = fc.oneof(
      fc.constant<Request>({ kind: 'list' }),
      fc.integer({ min: 0, max: 0xffff_ffff }).map((index): Request => ({ kind: 'stream', index })),
      // any Unicode text without CR or LF that is not itself a command (lines are UTF-8)
      fc
        .string({ unit: 'grapheme', maxLength: 40 })
        .filter((line) => !/[\r\n]/.test(line) && line !== 'LIST' && line !== 'STREAM')
        .map((line): Request => ({ kind: 'unknown', line })),
    );

    const encode = (r: Request): Buffer =>
      r.kind === 'list' ? LIST_REQUEST : r.kind === 'stream' ? streamRequest(r.index) : requestLine(r.line);

    test('a valid multi-request stream cut at random points gives the same requests as one chunk', () => {
      fc.assert(
        fc.property(
          fc.array(request, { maxLength: 30 }).chain((requests) =>
            withSplits(fc.constant(Buffer.concat(requests.map(encode)))).map((s) => ({ requests, ...s })),
          ),
          ({ requests, bytes, chunks }) => {
            assert.deepEqual(parseRequests([bytes], 1024), requests);
            assert.deepEqual(parseRequests(chunks, 1024), requests);
          },
        ),
        RUNS,
      );
    });
  });

  describe('ListParser', () => {
    test('byte soup throws nothing but AudioStreamError, and splitting changes nothing', () => {
      fc.assert(
        fc.property(
          withSplits(anySoup),
          fc.integer({ min: 1, max: 64 }),
          fc.integer({ min: 1, max: 20 }),
          ({ bytes, chunks }, maxLineLength, maxEntries) => {
            const options = { maxLineLength, maxEntries };
            const whole = outcome(() => parseList([bytes], options));
            const split = outcome(() => parseList(chunks, options));
            if (!whole.ok) assert.ok(['MALFORMED_LIST', 'LIST_LINE_TOO_LONG', 'LIST_TOO_LONG'].includes(whole.code), whole.code);
            assert.deepEqual(split, whole);
          },
        ),
        RUNS,
      );
    });

    test('a valid list with any Unicode paths, cut at random points, parses to the same entries', () => {
      const path = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((p) => !/[\r\n]/.test(p));
      fc.assert(
        fc.property(
          fc.array(path, { minLength: 1, maxLength: 20 }).chain((paths) =>
            withSplits(fc.constant(listReply(paths))).map((s) => ({ paths, ...s })),
          ),
          ({ paths, chunks }) => {
            const expected = paths.map((p, index) => ({ index, path: p })).reverse();
            const { entries, rest } = parseList(chunks, { maxLineLength: 8192, maxEntries: 1000 });
            assert.deepEqual(entries, expected);
            assert.equal(rest.length, 0);
          },
        ),
        RUNS,
      );
    });
  });

  describe('StreamReplyParser', () => {
    test('byte soup never throws, and the body is never longer than announced', () => {
      fc.assert(
        fc.property(withSplits(anySoup), ({ chunks }) => {
          const parser = new StreamReplyParser();
          let body = 0;
          let rest = 0;
          for (const chunk of chunks) {
            const out = parser.feed(chunk);
            body += out.body?.length ?? 0;
            rest += out.rest?.length ?? 0;
          }
          const total = chunks.reduce((n, c) => n + c.length, 0);
          assert.equal(Math.min(total, 4) + body + rest, total, 'every byte is header, body or rest');
          if (parser.size !== undefined) assert.ok(body <= parser.size);
        }),
        RUNS,
      );
    });

    test('a reply and trailing bytes cut at random points give back the same body and rest', () => {
      fc.assert(
        fc.property(
          fc.tuple(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 50 })).chain(([body, after]) =>
            withSplits(fc.constant(Buffer.concat([streamReply(Buffer.from(body)), Buffer.from(after)]))).map((s) => ({
              body: Buffer.from(body),
              after: Buffer.from(after),
              ...s,
            })),
          ),
          ({ body, after, chunks }) => {
            const parser = new StreamReplyParser();
            const bodies: Buffer[] = [];
            const rests: Buffer[] = [];
            for (const chunk of chunks) {
              const out = parser.feed(chunk);
              if (out.body) bodies.push(out.body);
              if (out.rest) rests.push(out.rest);
            }
            assert.equal(parser.size, body.length);
            assert.equal(parser.done, true);
            assert.deepEqual(Buffer.concat(bodies), body);
            assert.deepEqual(Buffer.concat(rests), after);
          },
        ),
        RUNS,
      );
    });
  });
});
