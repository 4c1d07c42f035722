import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AudioStreamError, DEFAULT_MAX_LIST_ENTRIES, ListParser, readListingDialect, type ListEntry, type ListParserOptions } from '../../src/protocol/index.js';
import { bytewise, chunkings, detached, listLine, listReply, streamReply, splitAt } from '../support/wire.js';

interface ParseResult {
  entries: ListEntry[];
  /** done after each feed, in order */
  doneAfter: boolean[];
  rest: Buffer;
}

function parseAll(chunks: readonly Buffer[], options: ListParserOptions = {}): ParseResult {
  const parser = new ListParser(options);
  const entries: ListEntry[] = [];
  const doneAfter: boolean[] = [];
  for (const chunk of chunks) {
    entries.push(...parser.feed(chunk));
    doneAfter.push(parser.done);
  }
  return { entries, doneAfter, rest: parser.takeRest() };
}

/** Feeds chunks until the parser throws; fails the test if it never does. */
function parseError(chunks: readonly Buffer[], options: ListParserOptions = {}): AudioStreamError {
  const parser = new ListParser(options);
  for (const chunk of chunks) {
    try {
      parser.feed(chunk);
    } catch (err) {
      assert.ok(err instanceof AudioStreamError, `expected an AudioStreamError, got ${String(err)}`);
      return err;
    }
  }
  assert.fail('the parser accepted input it should refuse');
}

/** Entries as the server numbers them: paths[0] is index 0, listed last. */
function entriesOf(paths: readonly string[]): ListEntry[] {
  return paths.map((path, index) => ({ index, path })).reverse();
}

const FIXTURES: { name: string; paths: string[] }[] = [
  { name: 'one file', paths: ['a.mp3'] },
  { name: 'three files', paths: ['a.mp3', 'b/c.flac', 'd e.ogg'] },
  { name: 'eleven files (indexes of two digits)', paths: Array.from({ length: 11 }, (_, i) => `dir/track ${i}.wav`) },
  { name: 'non-ASCII paths (2-, 3- and 4-byte UTF-8)', paths: ['Émilie Ölund/Café Noir/01 Café Noir.ogg', '日本/曲.mp3', '🎵/♪ 🎶.flac'] },
  { name: 'colons in the path belong to the path', paths: ['a:b.mp3', '::.wav', '12:34.flac'] },
  { name: 'a leading space belongs to the path', paths: [' x.mp3', '  '] },
];

describe('ListParser', () => {
  for (const fixture of FIXTURES) {
    test(`${fixture.name}: whole, byte by byte, split at every position`, () => {
      const bytes = listReply(fixture.paths);
      for (const { name, chunks } of chunkings(bytes)) {
        const result = parseAll(chunks);
        assert.deepEqual(result.entries, entriesOf(fixture.paths), name);
        // done turns true with the last byte (the LF of index 0) and not before.
        assert.deepEqual(result.doneAfter, chunks.map((_, i) => i === chunks.length - 1), `${name}: done`);
        assert.equal(result.rest.length, 0, `${name}: rest`);
      }
    });
  }

  test('the same fixture as detached byte-sized buffers (no shared memory)', () => {
    const paths = FIXTURES[3]!.paths;
    assert.deepEqual(parseAll(detached(bytewise(listReply(paths)))).entries, entriesOf(paths));
  });

  test('a path split inside each byte of a multi-byte UTF-8 character decodes intact', () => {
    const path = 'É🎵.mp3'; // É is C3 89; 🎵 is F0 9F 8E B5
    const bytes = listLine(0, path);
    const pathStart = 2; // after "0:"
    for (let at = pathStart + 1; at < pathStart + 6; at++) {
      const { entries } = parseAll(splitAt(bytes, [at]));
      assert.deepEqual(entries, [{ index: 0, path }], `split at ${at}`);
      assert.ok(!entries[0]!.path.includes('\ufffd'), `split at ${at}: replacement character`);
    }
  });

  test('entries come out as soon as their line is complete', () => {
    const parser = new ListParser();
    assert.deepEqual(parser.feed(Buffer.from('2:a\r\n1:', 'utf8')), [{ index: 2, path: 'a' }]);
    assert.equal(parser.done, false);
    assert.deepEqual(parser.feed(Buffer.from('b\r\n0:c\r', 'utf8')), [{ index: 1, path: 'b' }]);
    assert.equal(parser.done, false);
    assert.deepEqual(parser.feed(Buffer.from('\n', 'utf8')), [{ index: 0, path: 'c' }]);
    assert.equal(parser.done, true);
  });

  test('tolerates bare LF line endings', () => {
    assert.deepEqual(parseAll([Buffer.from('1:a.mp3\n0:b.mp3\n', 'utf8')]).entries, [
      { index: 1, path: 'a.mp3' },
      { index: 0, path: 'b.mp3' },
    ]);
  });

  describe('bytes after index 0', () => {
    test('are kept for takeRest, whatever the split', () => {
      const reply = listReply(['a.mp3', 'b.mp3']);
      const after = Buffer.from('EXTRA\r\n\x00\x01', 'latin1');
      const bytes = Buffer.concat([reply, after]);
      for (const { name, chunks } of chunkings(bytes)) {
        const result = parseAll(chunks);
        assert.deepEqual(result.entries, entriesOf(['a.mp3', 'b.mp3']), name);
        assert.deepEqual(result.rest, after, `${name}: rest`);
      }
    });

    test('a pipelined STREAM reply after the list is handed back untouched', () => {
      const next = streamReply(Buffer.from([0x0a, 0x0d, 0x00, 0xff]));
      const result = parseAll([Buffer.concat([listReply(['x.wav']), next])]);
      assert.deepEqual(result.entries, [{ index: 0, path: 'x.wav' }]);
      assert.deepEqual(result.rest, next);
    });

    test('takeRest empties the rest, and later chunks are collected again', () => {
      const parser = new ListParser();
      parser.feed(Buffer.from('0:a\r\nAB', 'latin1'));
      assert.deepEqual(parser.takeRest(), Buffer.from('AB', 'latin1'));
      assert.equal(parser.takeRest().length, 0);
      assert.deepEqual(parser.feed(Buffer.from('C\nD', 'latin1')), []);
      assert.deepEqual(parser.takeRest(), Buffer.from('C\nD', 'latin1'));
    });
  });

  describe('malformed lines are MALFORMED_LIST, whole and byte by byte', () => {
    const cases: [string, string][] = [
      ['not index:path at all', 'hello\r\n'],
      ['missing colon', '0\r\n'],
      ['missing colon after a path-like text', '0 a.mp3\r\n'],
      ['empty index', ':a.mp3\r\n'],
      ['empty path', '0:\r\n'],
      ['empty line', '\r\n'],
      ['letters as index', 'x:a.mp3\r\n'],
      ['negative index', '-1:a.mp3\r\n'],
      ['plus sign', '+0:a.mp3\r\n'],
      ['leading zero', '01:a.mp3\r\n'],
      ['space before the index', ' 0:a.mp3\r\n'],
      ['space before the colon', '0 :a.mp3\r\n'],
      ['decimal point', '0.0:a.mp3\r\n'],
      ['index of 11 digits', '12345678901:a.mp3\r\n'],
    ];
    for (const [name, text] of cases) {
      test(name, () => {
        const bytes = Buffer.from(text, 'utf8');
        assert.equal(parseError([bytes]).code, 'MALFORMED_LIST');
        assert.equal(parseError(bytewise(bytes)).code, 'MALFORMED_LIST');
      });
    }
  });

  describe('indexes must count down by one to 0', () => {
    const cases: [string, string][] = [
      ['skipped index', '2:a\r\n0:b\r\n'],
      ['repeated index', '1:a\r\n1:b\r\n'],
      ['counting up', '1:a\r\n2:b\r\n'],
      ['a malformed line after good ones', '2:a\r\n1:b\r\nbad\r\n'],
    ];
    for (const [name, text] of cases) {
      test(name, () => {
        const bytes = Buffer.from(text, 'utf8');
        for (const { name: how, chunks } of chunkings(bytes)) {
          assert.equal(parseError(chunks).code, 'MALFORMED_LIST', how);
        }
      });
    }
  });

  describe('line-length limit (LIST_LINE_TOO_LONG)', () => {
    const maxLineLength = 32;

    test('a line of exactly the limit is accepted; one byte more is refused', () => {
      const fits = `0:${'p'.repeat(maxLineLength - 2)}`; // "0:" + path = limit
      for (const { name, chunks } of chunkings(Buffer.from(`${fits}\r\n`, 'utf8'))) {
        assert.deepEqual(parseAll(chunks, { maxLineLength }).entries, [{ index: 0, path: fits.slice(2) }], name);
      }
      const over = Buffer.from(`0:${'p'.repeat(maxLineLength - 1)}\r\n`, 'utf8');
      assert.equal(parseError([over], { maxLineLength }).code, 'LIST_LINE_TOO_LONG');
      assert.equal(parseError(bytewise(over), { maxLineLength }).code, 'LIST_LINE_TOO_LONG');
    });

    test('the limit counts bytes, not characters', () => {
      // 15 × "é" is 15 characters but 30 bytes: with "0:" that is exactly 32 bytes.
      assert.deepEqual(parseAll([listLine(0, 'é'.repeat(15))], { maxLineLength }).entries, [{ index: 0, path: 'é'.repeat(15) }]);
      assert.equal(parseError([listLine(0, 'é'.repeat(16))], { maxLineLength }).code, 'LIST_LINE_TOO_LONG');
    });

    test('a flood without newline is refused as soon as no legal line could fit', () => {
      const parser = new ListParser({ maxLineLength });
      for (let i = 1; i <= maxLineLength + 1; i++) {
        assert.deepEqual(parser.feed(Buffer.from('9', 'latin1')), [], `byte ${i} must be accepted`);
      }
      assert.throws(
        () => parser.feed(Buffer.from('9', 'latin1')),
        (err: unknown) => err instanceof AudioStreamError && err.code === 'LIST_LINE_TOO_LONG',
      );
    });

    test('a 4 MiB flood in one chunk is refused with the default limit', () => {
      assert.equal(parseError([Buffer.alloc(4 * 1024 * 1024, 0x41)]).code, 'LIST_LINE_TOO_LONG');
    });
  });

  describe('entry limit (LIST_TOO_LONG)', () => {
    test('the first index announces the count and is checked against maxEntries', () => {
      assert.deepEqual(parseAll([listReply(['a', 'b', 'c'])], { maxEntries: 3 }).entries, entriesOf(['a', 'b', 'c']));
      assert.equal(parseError([Buffer.from('3:a\r\n', 'utf8')], { maxEntries: 3 }).code, 'LIST_TOO_LONG');
    });

    test(`the default limit is ${DEFAULT_MAX_LIST_ENTRIES} entries`, () => {
      const last = DEFAULT_MAX_LIST_ENTRIES - 1;
      const first = parseAll([Buffer.from(`${last}:a\r\n`, 'utf8')]);
      assert.deepEqual(first.entries, [{ index: last, path: 'a' }]);
      assert.equal(parseError([Buffer.from(`${DEFAULT_MAX_LIST_ENTRIES}:a\r\n`, 'utf8')]).code, 'LIST_TOO_LONG');
      assert.equal(parseError([Buffer.from('4294967295:a\r\n', 'utf8')]).code, 'LIST_TOO_LONG');
    });
  });
});

describe('readListingDialect: "N: name" (starter-code servers) and "N:name" (conforming)', () => {
  /** A whole listing through the parser, every split, then read in its dialect (index order). */
  function read(text: string): { dialect: string; paths: string[] } {
    const bytes = Buffer.from(text, 'utf8');
    let result: { dialect: string; paths: string[] } | undefined;
    for (const chunks of [[bytes], bytewise(bytes)]) {
      const { entries } = parseAll(chunks);
      const { dialect, entries: named } = readListingDialect([...entries].reverse());
      const now = { dialect, paths: named.map((e) => e.path) };
      if (result) assert.deepEqual(now, result, 'the same whole and byte by byte');
      result = now;
    }
    return result!;
  }

  test('every line with a space after the colon: that one space is not part of the names', () => {
    assert.deepEqual(read('2: c/d.wav\r\n1: b.mp3\r\n0: a.flac\r\n'), { dialect: 'spaced', paths: ['a.flac', 'b.mp3', 'c/d.wav'] });
  });

  test('spaced: a name that begins with a space keeps it (two spaces on the wire)', () => {
    assert.deepEqual(read('1:  lead.wav\r\n0: a.wav\r\n'), { dialect: 'spaced', paths: ['a.wav', ' lead.wav'] });
  });

  test('conforming: names kept exactly, a leading space included', () => {
    assert.deepEqual(read('2:c.wav\r\n1: lead.wav\r\n0:a.wav\r\n'), { dialect: 'conforming', paths: ['a.wav', ' lead.wav', 'c.wav'] });
  });

  test('one line without the space makes the whole listing conforming', () => {
    assert.deepEqual(read('1: b.wav\r\n0:a.wav\r\n'), { dialect: 'conforming', paths: ['a.wav', ' b.wav'] });
  });

  test('spaced: a line with nothing after the space is MALFORMED_LIST, not a file without a name', () => {
    const { entries } = parseAll([Buffer.from('1: b.wav\r\n0: \r\n', 'utf8')]);
    assert.throws(() => readListingDialect(entries), (err) => err instanceof AudioStreamError && err.code === 'MALFORMED_LIST');
  });

  test('an empty listing is conforming and empty', () => {
    assert.deepEqual(readListingDialect([]), { dialect: 'conforming', entries: [] });
  });
});
