import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { lastMeaningfulLine, NO_AUDIO_MESSAGE, PlayerOutputCapture, saysNoAudio, summarisePlayerFailure } from '../../src/client/player/player-failure.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { REPO_ROOT } from './support/paths.js';

/** What real players printed on a machine without a sound card: test/fixtures/player-output/README.md. */
function fixture(name: string): string[] {
  return readFileSync(path.join(REPO_ROOT, 'test/fixtures/player-output', name), 'utf8').split('\n');
}

describe('summarisePlayerFailure', () => {
  for (const name of ['mpv-default-ao.txt', 'mpv-ao-alsa.txt', 'mpv-ao-pulse.txt', 'mpv-ao-pipewire.txt']) {
    test(`no sound device, as mpv printed it (${name}, exit 2): one line saying what to do`, () => {
      const err = summarisePlayerFailure(fixture(name), { code: 2, signal: null });
      assert.ok(isAudioStreamError(err, 'PLAYER_NO_AUDIO'));
      assert.equal(err.message, NO_AUDIO_MESSAGE);
      assert.equal(err.message, 'no audio output could be opened: check the audio output, or try --player "mpv --ao=null" to test');
    });
  }

  test('ffplay without audio exits 0, and that is still no audio', () => {
    const err = summarisePlayerFailure(fixture('ffplay-no-audio.txt'), { code: 0, signal: null });
    assert.ok(isAudioStreamError(err, 'PLAYER_NO_AUDIO'));
  });

  test('garbage: the format was not recognised, said in words', () => {
    const err = summarisePlayerFailure(fixture('mpv-garbage.txt'), { code: 2, signal: null });
    assert.ok(isAudioStreamError(err, 'PLAYER_FAILED'));
    assert.equal(err.message, 'the player exited with status 2: it could not recognise the audio format (the file may be damaged, or not audio)');
  });

  test('any other failure: exit status and the last line that is not library noise', () => {
    const lines = ['ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default', 'Error parsing option foo (option not found)', 'ALSA lib conf.c:1:(x) y', 'Exiting... (Fatal error)'];
    const err = summarisePlayerFailure(lines, { code: 1, signal: null });
    assert.ok(isAudioStreamError(err, 'PLAYER_FAILED'));
    assert.equal(err.message, 'the player exited with status 1: Error parsing option foo (option not found)');
  });

  test('a signal and silence', () => {
    assert.equal(summarisePlayerFailure([], { code: null, signal: 'SIGKILL' })?.message, 'the player was stopped by SIGKILL');
    assert.equal(summarisePlayerFailure(['ALSA lib x'], { code: 3, signal: null })?.message, 'the player exited with status 3');
  });

  test('a clean exit with harmless output is no failure', () => {
    assert.equal(summarisePlayerFailure(['[ffmpeg/demuxer] mp3: invalid concatenated file detected'], { code: 0, signal: null }), undefined);
  });

  test("the player's words are escaped (they can quote tags from the file)", () => {
    const err = summarisePlayerFailure(['Cannot open "\x1b]0;pwned\x07"'], { code: 2, signal: null });
    assert.equal(err?.message, 'the player exited with status 2: Cannot open "\\x1b]0;pwned\\x07"');
  });

  test('saysNoAudio and lastMeaningfulLine on their own', () => {
    assert.equal(saysNoAudio(fixture('mpv-garbage.txt')), false);
    assert.equal(saysNoAudio(['aplay: main:831: audio open error: No such file or directory']), true);
    assert.equal(lastMeaningfulLine(fixture('mpv-default-ao.txt')), 'Could not open/initialize audio device -> no sound.');
  });
});

describe('PlayerOutputCapture', () => {
  test('keeps the last 64 lines of two streams, each cut to 400 characters, and counts them all', async () => {
    const out = new PassThrough();
    const errs = new PassThrough();
    const capture = new PlayerOutputCapture([out, errs]);
    for (let i = 0; i < 100; i++) out.write(`line ${i}\n`);
    errs.write(`${'x'.repeat(5000)}\r\nlast without newline`);
    out.end();
    errs.end();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(capture.seen, 102);
    assert.equal(capture.lines.length, 64);
    assert.equal(capture.lines.at(-1), 'last without newline');
    assert.equal(capture.lines.at(-2), `${'x'.repeat(400)}…`);
  });

  test('a line without an end never holds more than one line of memory', async () => {
    const s = new PassThrough();
    const capture = new PlayerOutputCapture([s]);
    for (let i = 0; i < 1000; i++) s.write('y'.repeat(1000));
    s.end();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(capture.lines.length, 1);
    assert.ok(capture.lines[0]!.length <= 401);
  });
});
