import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AudioStreamError,
  MAX_V1_INDEX,
  MAX_V1_SIZE,
  encodeListLine,
  encodeListLines,
  encodeListRequest,
  encodeListResponse,
  encodeStreamHeader,
  encodeStreamRequest,
} from '../../src/protocol/index.js';
import { listLine, listReply } from '../support/wire.js';

function hasCode(code: string) {
  return (err: unknown): boolean => err instanceof AudioStreamError && err.code === code;
}

describe('encoder', () => {
  test('LIST request is exactly L I S T CR LF', () => {
    assert.deepEqual(encodeListRequest(), Buffer.from([0x4c, 0x49, 0x53, 0x54, 0x0d, 0x0a]));
  });

  describe('STREAM request', () => {
    const STREAM_CRLF = [0x53, 0x54, 0x52, 0x45, 0x41, 0x4d, 0x0d, 0x0a];
    const cases: [number, number[]][] = [
      [0, [0, 0, 0, 0]],
      [1, [0, 0, 0, 1]],
      [0x01020304, [1, 2, 3, 4]],
      [0x0d0a, [0, 0, 0x0d, 0x0a]],
      [MAX_V1_INDEX, [0xff, 0xff, 0xff, 0xff]],
    ];
    for (const [index, tail] of cases) {
      test(`index ${index} is STREAM CR LF then ${tail.join(' ')}`, () => {
        assert.deepEqual(encodeStreamRequest(index), Buffer.from([...STREAM_CRLF, ...tail]));
      });
    }

    for (const bad of [-1, MAX_V1_INDEX + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      test(`index ${bad} is BAD_INDEX`, () => {
        assert.throws(() => encodeStreamRequest(bad), hasCode('BAD_INDEX'));
      });
    }
  });

  describe('LIST reply', () => {
    test('a line is the decimal index, a colon, the UTF-8 path and CR LF', () => {
      assert.deepEqual(encodeListLine(0, 'a.mp3'), Buffer.from([0x30, 0x3a, 0x61, 0x2e, 0x6d, 0x70, 0x33, 0x0d, 0x0a]));
      assert.deepEqual(encodeListLine(12, 'É.ogg'), Buffer.from([0x31, 0x32, 0x3a, 0xc3, 0x89, 0x2e, 0x6f, 0x67, 0x67, 0x0d, 0x0a]));
      assert.deepEqual(encodeListLine(4294967295, '🎵 x.flac'), listLine(4294967295, '🎵 x.flac'));
    });

    test('a whole reply lists the highest index first and ends with index 0', () => {
      const paths = ['a.mp3', 'b/c.flac', 'Émilie/d.ogg', 'e:f.wav'];
      const expected = listReply(paths);
      assert.deepEqual(encodeListResponse(paths), expected);
      assert.ok(expected.toString('utf8').startsWith('3:e:f.wav\r\n'));
      assert.ok(expected.toString('utf8').endsWith('0:a.mp3\r\n'));
      assert.deepEqual(Buffer.concat([...encodeListLines(paths)]), expected);
    });

    test('a reply measured and written in one buffer equals its lines one by one (multi-digit indexes, 4-byte and unpaired UTF-16)', () => {
      const paths = Array.from({ length: 123 }, (_, i) => (i % 3 === 0 ? `🎵 ${i}.flac` : i % 3 === 1 ? `x\ud800${i}.mp3` : `É/${i}.ogg`));
      const reply = encodeListResponse(paths);
      assert.deepEqual(reply, Buffer.concat(paths.map((p, i) => encodeListLine(i, p)).reverse()));
      assert.equal(reply.length, Buffer.concat([...encodeListLines(paths)]).length);
    });

    test('an empty library is an empty reply (v1 has no end marker of its own)', () => {
      assert.equal(encodeListResponse([]).length, 0);
      assert.deepEqual([...encodeListLines([])], []);
    });
  });

  describe('STREAM reply header', () => {
    const cases: [number, number[]][] = [
      [0, [0, 0, 0, 0]],
      [1, [0, 0, 0, 1]],
      [65536, [0, 1, 0, 0]],
      [0x01020304, [1, 2, 3, 4]],
      [MAX_V1_SIZE, [0xff, 0xff, 0xff, 0xff]],
    ];
    for (const [size, bytes] of cases) {
      test(`size ${size} is ${bytes.join(' ')}`, () => {
        assert.deepEqual(encodeStreamHeader(size), Buffer.from(bytes));
      });
    }

    for (const bad of [MAX_V1_SIZE + 1, 2 ** 40, -1, 0.5, Number.NaN]) {
      test(`size ${bad} is FILE_TOO_LARGE`, () => {
        assert.throws(() => encodeStreamHeader(bad), hasCode('FILE_TOO_LARGE'));
      });
    }
  });
});
