/**
 * Property-based fuzzing of the v2 parsers, with bounded runs: the ReplyReader on random
 * bytes and random split points, parseV2Request on random lines, parseV2Entry on random
 * JSON. Hostile input may be refused, but only ever with an AudioStreamError, and what is
 * accepted must be exactly what the input said.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ReplyReader, parseGetHeader, parseV2Entry, parseV2Request, type V2Request } from '../../src/protocol/index.js';
import { outcome, withSplits } from '../support/fuzzing.js';

const RUNS = { numRuns: 200 };


/** What a ReplyReader handed its handler: lines, and the body bytes after each line. */
interface Read {
  lines: string[];
  bodies: Buffer[];
}

/**
 * Feeds `chunks` to a ReplyReader whose handler behaves like the client's GET handling:
 * an `OK <size> <offset> <length>` line announces `length` body bytes (parsed with the real
 * parseGetHeader, which may itself refuse the line), and `B <n>` announces n bytes (a
 * test-only shape, so that bodies are common in the fuzz).
 */
function readAll(chunks: readonly Buffer[], maxLineLength: number): Read {
  const read: Read = { lines: [], bodies: [] };
  const reader = new ReplyReader(
    {
      line(text) {
        read.lines.push(text);
        read.bodies.push(Buffer.alloc(0));
        const b = /^B (\d{1,6})$/.exec(text);
        if (b) return Number(b[1]);
        if (text.startsWith('OK ')) return parseGetHeader(text.slice(3)).length;
        return 0;
      },
      body(bytes) {
        // The reader hands out views into its chunk: copy, as a real handler must before the
        // chunk is reused.
        const i = read.bodies.length - 1;
        read.bodies[i] = Buffer.concat([read.bodies[i]!, bytes]);
      },
    },
    maxLineLength,
  );
  for (const chunk of chunks) reader.feed(chunk);
  return read;
}

/** Random bytes biased towards reply tokens, so that soup also holds near-valid replies. */
const replySoup = fc
  .array(
    fc.oneof(
      fc.constantFrom('OK ', 'ERR ', 'DONE ', 'B ', 'AS/2 OK x', '\r\n', '\n', '\r', ' ', '0', '1', '7', '12', '99999999999999999', 'é', '🎵').map((s) => Buffer.from(s, 'utf8')),
      fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    ),
    { maxLength: 120 },
  )
  .map((parts) => Buffer.concat(parts));
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 1024 }).map((a) => Buffer.from(a)),
  replySoup,
);

/** A reply line that cannot itself be mistaken for a body announcement or hold a line break. */
const plainLine = fc
  .string({ unit: 'grapheme', maxLength: 40 })
  .filter((s) => !/[\r\n]/.test(s) && !/^(B |OK )/.test(s) && !s.endsWith('\r'));

/** One framed item: a line, and a body when the line announces one. */
const framedItem: fc.Arbitrary<{ line: string; body: Buffer }> = fc.oneof(
  plainLine.map((line) => ({ line, body: Buffer.alloc(0) })),
  fc.uint8Array({ maxLength: 300 }).map((a) => ({ line: `B ${a.length}`, body: Buffer.from(a) })),
  fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 1000 })).map(([a, before]) => ({
    line: `OK ${before + a.length + 3} ${before} ${a.length}`,
    body: Buffer.from(a),
  })),
);

describe('fuzzing v2', () => {
  describe('ReplyReader', () => {
    test('random bytes throw nothing but AudioStreamError, and splitting them changes nothing', () => {
      fc.assert(
        fc.property(withSplits(anyBytes), fc.integer({ min: 1, max: 64 }), ({ bytes, chunks }, maxLineLength) => {
          const whole = outcome(() => readAll([bytes], maxLineLength));
          const split = outcome(() => readAll(chunks, maxLineLength));
          if (whole.ok && split.ok) assert.deepEqual(split.value, whole.value);
          else assert.deepEqual(split.ok ? 'ok' : split.code, whole.ok ? 'ok' : whole.code);
        }),
        RUNS,
      );
    });

    test('a valid framed stream cut at random points gives the same lines and bodies as one chunk', () => {
      fc.assert(
        fc.property(
          fc.array(framedItem, { maxLength: 25 }).chain((items) => {
            const bytes = Buffer.concat(items.flatMap((i) => [Buffer.from(`${i.line}\r\n`, 'utf8'), i.body]));
            return withSplits(fc.constant(bytes)).map((s) => ({ items, ...s }));
          }),
          ({ items, bytes, chunks }) => {
            const expected: Read = { lines: items.map((i) => i.line), bodies: items.map((i) => i.body) };
            assert.deepEqual(readAll([bytes], 1024), expected);
            assert.deepEqual(readAll(chunks, 1024), expected);
          },
        ),
        RUNS,
      );
    });
  });

  describe('parseV2Request', () => {
    /** Lines biased towards requests: a verb, then a JSON-ish path, then number-ish words. */
    const requestish = fc
      .tuple(
        fc.constantFrom('GET', 'INFO', 'LIST2', 'HELLO AS/2', 'get', 'GET  ', ''),
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 20 }).map((p) => ` ${JSON.stringify(p)}`),
          fc.string({ maxLength: 20 }).map((p) => ` "${p}`),
          fc.string({ maxLength: 20 }),
        ),
        fc.array(fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String), fc.constantFrom('', '-0', '1e3', '0x1', '00', 'NaN')), { maxLength: 4 }),
      )
      .map(([verb, pathPart, numbers]) => `${verb}${pathPart}${numbers.map((n) => ` ${n}`).join('')}`);
    const anyLine = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), requestish);

    test('random lines throw nothing but AudioStreamError, and a path returned is exactly a JSON string of the line', () => {
      fc.assert(
        fc.property(anyLine, (line) => {
          const result = outcome(() => parseV2Request(line));
          if (!result.ok) {
            assert.equal(result.code, 'PROTOCOL_ERROR');
            return;
          }
          const request: V2Request | undefined = result.value;
          if (request?.kind !== 'get' && request?.kind !== 'info') return;
          // The path must be the JSON string literal that follows the verb and one space,
          // decoded: some prefix of the rest that ends in a quote parses to it.
          const verb = request.kind === 'get' ? 'GET ' : 'INFO ';
          assert.ok(line.startsWith(verb), line);
          const rest = line.slice(verb.length);
          const literals = [...rest.matchAll(/"/g)].map((m) => rest.slice(0, m.index + 1));
          assert.ok(
            literals.some((lit) => {
              try {
                return JSON.parse(lit) === request.path;
              } catch {
                return false;
              }
            }),
            `path ${JSON.stringify(request.path)} is not a JSON string in ${JSON.stringify(line)}`,
          );
          if (request.kind === 'get') {
            assert.ok(Number.isSafeInteger(request.offset) && request.offset >= 0, `offset ${request.offset}`);
            if (request.length !== undefined) assert.ok(Number.isSafeInteger(request.length) && request.length >= 0, `length ${request.length}`);
          }
        }),
        { numRuns: 500 },
      );
    });

    test('any path written by JSON.stringify, with any range, comes back exactly', () => {
      fc.assert(
        fc.property(
          fc.string({ unit: 'binary', maxLength: 60 }),
          fc.option(fc.nat({ max: Number.MAX_SAFE_INTEGER })),
          fc.option(fc.nat({ max: Number.MAX_SAFE_INTEGER })),
          (path, offset, length) => {
            const words = offset === null ? [] : length === null ? [offset] : [offset, length];
            const line = ['GET', JSON.stringify(path), ...words.map(String)].join(' ');
            assert.deepEqual(parseV2Request(line), { kind: 'get', path, offset: offset ?? 0, length: offset === null ? undefined : (length ?? undefined) });
            assert.deepEqual(parseV2Request(`INFO ${JSON.stringify(path)}`), { kind: 'info', path });
          },
        ),
        RUNS,
      );
    });
  });

  describe('parseV2Entry', () => {
    const entryish = fc.record(
      {
        path: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        size: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constant(2 ** 60), fc.string()),
        mtime: fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constant(1e300), fc.string()),
        title: fc.oneof(fc.string(), fc.integer()),
        track: fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.string()),
        duration: fc.oneof(fc.double({ noNaN: true }), fc.string()),
        sha256: fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{64}$/)),
      },
      { requiredKeys: [] },
    );
    const anyJsonLine = fc.oneof(
      fc.json(),
      entryish.map((e) => JSON.stringify(e)),
      fc.string({ maxLength: 60 }),
      // Numbers JSON can write but a double cannot hold: 1e999 parses to Infinity.
      fc.constantFrom('{"path":"a","size":1,"mtime":1e999}', '{"path":"a","size":1,"mtime":-1e999}', '{"path":"a","size":1e999,"mtime":0}', '{"path":"a","size":1,"mtime":0,"duration":1e999}'),
    );

    test('random JSON throws nothing but AudioStreamError, and an accepted entry is well-formed', () => {
      fc.assert(
        fc.property(anyJsonLine, (line) => {
          const result = outcome(() => parseV2Entry(line));
          if (!result.ok) {
            assert.equal(result.code, 'MALFORMED_LIST');
            return;
          }
          const e = result.value;
          assert.equal(typeof e.path, 'string');
          assert.ok(Number.isSafeInteger(e.size) && e.size >= 0, `size ${e.size}`);
          assert.ok(!Number.isNaN(new Date(e.mtime).getTime()), `mtime ${e.mtime} is a time a Date can hold`);
          for (const key of ['track', 'duration', 'sampleRate', 'bitrate'] as const) if (e[key] !== undefined) assert.ok(Number.isFinite(e[key]), `${key} ${e[key]}`);
          for (const key of ['title', 'artist', 'album', 'codec'] as const) if (e[key] !== undefined) assert.equal(typeof e[key], 'string');
          if (e.sha256 !== undefined) assert.match(e.sha256, /^[0-9a-f]{64}$/);
        }),
        RUNS,
      );
    });

    // Regression: any JSON number passed as mtime, including 1e999 (Infinity) and 1e300,
    // and `info` then died formatting it (new Date(mtime).toISOString() is a RangeError,
    // not an AudioStreamError): a hostile server could crash the client's listing.
    test('an mtime a Date cannot hold (1e999, 1e300) is MALFORMED_LIST, not a RangeError later', () => {
      for (const mtime of ['1e999', '-1e999', '1e300', '8640000000000001']) {
        assert.throws(() => parseV2Entry(`{"path":"a.mp3","size":1,"mtime":${mtime}}`), { code: 'MALFORMED_LIST' }, mtime);
      }
      assert.equal(parseV2Entry('{"path":"a.mp3","size":1,"mtime":8640000000000000}').mtime, 8.64e15);
      assert.equal(parseV2Entry('{"path":"a.mp3","size":1,"mtime":-5}').mtime, -5);
    });
  });
});
