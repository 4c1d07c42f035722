import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeMpvCommand, MpvIpcParser, type MpvMessage } from '../../src/client/player/mpv-ipc-protocol.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { withSplits } from '../support/fuzzing.js';

/**
 * Lines as mpv 0.35.1 sent them over --input-ipc-server (captured from a real session),
 * written out by hand rather than by our encoder, so a bug there cannot hide one here.
 */
const MPV_LINES = [
  '{"request_id":1,"error":"success"}',
  '{"event":"start-file","playlist_entry_id":1}',
  '{"event":"property-change","id":1,"name":"pause","data":false}',
  '{"data":1.445298,"request_id":3,"error":"success"}',
  '{"data":{"cache-end":19.984739,"eof":true,"seekable-ranges":[{"start":-0.025057,"end":19.984739}]},"request_id":6,"error":"success"}',
  '{"request_id":7,"error":"property unavailable"}',
  '{"event":"end-file","reason":"eof","playlist_entry_id":1}',
  '{"event":"property-change","id":2,"name":"media-title","data":"Café — Ölund"}',
];
const STREAM = Buffer.from(MPV_LINES.map((l) => `${l}\n`).join(''), 'utf8');

function expected(): MpvMessage[] {
  return MPV_LINES.map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    return typeof o.event === 'string'
      ? { kind: 'event', event: o.event, fields: o }
      : { kind: 'reply', requestId: o.request_id as number, error: o.error as string, data: o.data };
  });
}

function feedAll(chunks: Buffer[], parser = new MpvIpcParser()): MpvMessage[] {
  return chunks.flatMap((c) => parser.feed(c));
}

describe('MpvIpcParser', () => {
  test('several messages in one chunk', () => {
    assert.deepEqual(feedAll([STREAM]), expected());
  });

  test('byte by byte (a UTF-8 character cut between reads decodes whole)', () => {
    const chunks = [...STREAM].map((b) => Buffer.from([b]));
    assert.deepEqual(feedAll(chunks), expected());
  });

  test('split at the front, middle and end of every line', () => {
    let at = 0;
    for (const line of MPV_LINES) {
      const len = Buffer.byteLength(line) + 1;
      for (const cut of [1, Math.floor(len / 2), len - 1]) {
        const chunks = [STREAM.subarray(0, at + cut), STREAM.subarray(at + cut)];
        assert.deepEqual(feedAll(chunks), expected(), `cut at ${at + cut}`);
      }
      at += len;
    }
  });

  test('random splits give the same messages (property)', () => {
    fc.assert(
      fc.property(withSplits(fc.constant(STREAM)), ({ chunks }) => {
        assert.deepEqual(feedAll(chunks), expected());
      }),
      { numRuns: 300 },
    );
  });

  test('a partial line waits for its end; CRLF and blank lines are tolerated', () => {
    const p = new MpvIpcParser();
    assert.deepEqual(p.feed(Buffer.from('{"request_id":5,"err')), []);
    assert.equal(p.hasPartialLine, true);
    assert.deepEqual(p.feed(Buffer.from('or":"success","data":true}\r\n\n')), [{ kind: 'reply', requestId: 5, error: 'success', data: true }]);
    assert.equal(p.hasPartialLine, false);
  });

  test('a line longer than the limit is refused (PLAYER_IPC) before it is kept, with or without its end', () => {
    const p = new MpvIpcParser({ maxLine: 64 });
    assert.throws(() => p.feed(Buffer.alloc(65, 0x61)), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC') && /longer than 64 bytes/.test((err as Error).message));
    const q = new MpvIpcParser({ maxLine: 64 });
    q.feed(Buffer.alloc(40, 0x61));
    assert.throws(() => q.feed(Buffer.alloc(30, 0x61)), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC'));
    const r = new MpvIpcParser({ maxLine: 64 });
    assert.throws(() => r.feed(Buffer.from(`${'{"event":"x","p":"'.padEnd(70, 'a')}"}\n`)), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC'));
    // Exactly at the limit is fine.
    const line = `{"event":"x","pad":"${'a'.repeat(64 - 22)}"}`;
    assert.equal(Buffer.byteLength(line), 64);
    assert.equal(new MpvIpcParser({ maxLine: 64 }).feed(Buffer.from(`${line}\n`)).length, 1);
  });

  for (const [what, line] of [
    ['not JSON', 'hello'],
    ['an array', '[1,2]'],
    ['a string', '"x"'],
    ['neither reply nor event', '{"data":1}'],
    ['a reply without error', '{"request_id":1}'],
    ['a reply with a non-integer id', '{"request_id":1.5,"error":"success"}'],
  ] as const) {
    test(`refuses a line that is ${what} (PLAYER_IPC)`, () => {
      assert.throws(() => new MpvIpcParser().feed(Buffer.from(`${line}\n`)), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC'));
    });
  }
});

describe('encodeMpvCommand', () => {
  test('one JSON line with the command and its request id', () => {
    assert.equal(encodeMpvCommand(3, ['seek', 10, 'absolute+exact']), '{"command":["seek",10,"absolute+exact"],"request_id":3}\n');
  });

  test('a newline or control character in an argument stays inside the one line', () => {
    const line = encodeMpvCommand(1, ['show-text', 'a\nb\u0000c']);
    assert.equal(line.indexOf('\n'), line.length - 1);
    assert.deepEqual(JSON.parse(line), { command: ['show-text', 'a\nb\u0000c'], request_id: 1 });
  });

  test('refuses a request id mpv could not echo', () => {
    assert.throws(() => encodeMpvCommand(-1, ['x']), RangeError);
    assert.throws(() => encodeMpvCommand(1.5, ['x']), RangeError);
  });
});
