import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { describeTrack, displayWidth, formatProgress, renderNowPlaying, truncateToWidth } from '../../src/client/player/now-playing.js';

const track = { path: 'Aurora Tones/First Light/01 Sunrise.flac', title: 'Sunrise', artist: 'Aurora Tones', album: 'First Light' };

describe('renderNowPlaying', () => {
  test('title — artist — album, elapsed / total from the player, queue place', () => {
    assert.equal(renderNowPlaying({ ...track, elapsed: 42.4, duration: 180, position: 1, length: 12 }, 80), 'Sunrise — Aurora Tones — First Light   0:42 / 3:00   [2/12]');
  });

  test('paused says so; unknown times show as --:--; no queue, no place', () => {
    assert.equal(renderNowPlaying({ ...track, elapsed: 3, duration: 180, paused: true }, 80), 'Sunrise — Aurora Tones — First Light   0:03 / 3:00   paused');
    assert.equal(renderNowPlaying({ ...track }, 80), 'Sunrise — Aurora Tones — First Light   --:--');
    assert.equal(renderNowPlaying({ ...track, elapsed: 61 }, 80), 'Sunrise — Aurora Tones — First Light   1:01');
  });

  test('no tags: the file name', () => {
    assert.equal(renderNowPlaying({ path: 'Singles/Short Beep.wav', elapsed: 1, duration: 2 }, 80), 'Short Beep.wav   0:01 / 0:02');
  });

  test('a narrow terminal cuts the description, keeps the times, and never fills the last column', () => {
    const line = renderNowPlaying({ ...track, elapsed: 42, duration: 180, position: 1, length: 12 }, 40);
    assert.equal(line, 'Sunrise — Auror…   0:42 / 3:00   [2/12]');
    assert.ok(displayWidth(line) <= 39, `${line} is ${displayWidth(line)} wide`);
    assert.ok(line.endsWith('0:42 / 3:00   [2/12]'));
    assert.ok(line.includes('…'));
    const tiny = renderNowPlaying({ ...track, elapsed: 42, duration: 180 }, 12);
    assert.ok(displayWidth(tiny) <= 11, tiny);
    assert.equal(tiny, '0:42 / 3:0…', 'too narrow for both: the times come first');
  });

  test('server text is escaped: no control characters or bidi overrides reach the terminal', () => {
    const line = renderNowPlaying({ path: 'x', title: 'Evil\x1b[2J\x07', artist: 'A\u202eB', elapsed: 1 }, 80);
    assert.equal(line, 'Evil\\x1b[2J\\x07 — A\\u202eB   0:01');
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u202a-\u202e]/);
  });

  test('wide characters count double, so the line still fits', () => {
    const line = renderNowPlaying({ path: 'x', title: '東京の夜'.repeat(10), elapsed: 5, duration: 60 }, 30);
    assert.ok(displayWidth(line) <= 29, `${line}: ${displayWidth(line)}`);
    assert.ok(line.endsWith('0:05 / 1:00'));
  });

  test('any tags and any width: never wider than columns - 1, never a control character (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.integer({ min: 1, max: 200 }), (title, artist, columns) => {
        const line = renderNowPlaying({ path: 'p', title, artist, elapsed: 1, duration: 2, position: 0, length: 3 }, columns);
        assert.ok(displayWidth(line) <= Math.max(0, columns - 1), `${JSON.stringify(line)} at ${columns}`);
        // eslint-disable-next-line no-control-regex
        assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f]/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('pieces of the line', () => {
  test('truncateToWidth cuts whole characters and marks the cut', () => {
    assert.equal(truncateToWidth('abcdef', 6), 'abcdef');
    assert.equal(truncateToWidth('abcdef', 4), 'abc…');
    assert.equal(truncateToWidth('e\u0301e\u0301e\u0301', 2), 'e\u0301…', 'a combining accent stays with its letter');
    assert.equal(truncateToWidth('abc', 0), '');
  });

  test('describeTrack and formatProgress', () => {
    assert.equal(describeTrack({ path: 'a/b.mp3', title: 'T', album: 'Al' }), 'T — Al');
    assert.equal(formatProgress(3725, undefined), '1:02:05');
    assert.equal(formatProgress(undefined, 10), '--:-- / 0:10');
  });
});
