import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_PLAYER, parsePlayerCommand } from '../../src/client/index.js';
import { isAudioStreamError } from '../../src/protocol/index.js';

describe('parsePlayerCommand', () => {
  test('splits on spaces like a shell', () => {
    assert.deepEqual(parsePlayerCommand('mpv --no-video -'), ['mpv', '--no-video', '-']);
    assert.deepEqual(parsePlayerCommand('  mpv   -  '), ['mpv', '-']);
  });

  test('the default player is mpv reading stdin, keeping the keyboard and real errors', () => {
    assert.deepEqual(parsePlayerCommand(DEFAULT_PLAYER), ['mpv', '--no-video', '--no-input-terminal', '--msg-level=all=error', '-']);
  });

  test('honours double quotes, single quotes and backslashes', () => {
    assert.deepEqual(parsePlayerCommand(`play "my file.raw" 'a b' c\\ d`), ['play', 'my file.raw', 'a b', 'c d']);
    assert.deepEqual(parsePlayerCommand(`mpv --ao-pcm-file="/tmp/out dir/x.raw" -`), ['mpv', '--ao-pcm-file=/tmp/out dir/x.raw', '-']);
    assert.deepEqual(parsePlayerCommand(`p "say \\"hi\\""`), ['p', 'say "hi"']);
    assert.deepEqual(parsePlayerCommand(`p ';' "&&" \\|`), ['p', ';', '&&', '|'], 'quoted operators are plain words');
  });

  test('single quotes keep a $ literal', () => {
    assert.deepEqual(parsePlayerCommand(`p '$HOME'`), ['p', '$HOME']);
  });

  const operators = ['mpv - | tee out', 'mpv - || true', 'mpv - && echo', 'mpv -; rm x', 'mpv - > out', 'mpv < in', 'mpv - &', 'mpv - 2>&1', '$(whoami)', 'mpv (x)', 'mpv - # comment'];
  for (const line of operators) {
    test(`refuses shell syntax: ${line}`, () => {
      assert.throws(() => parsePlayerCommand(line), (err: unknown) => isAudioStreamError(err, 'USAGE') && /may not contain shell syntax/.test((err as Error).message));
    });
  }

  test('refuses a glob and names the pattern, not "glob"', () => {
    // Regression: the message read `shell syntax like "glob"`.
    assert.throws(
      () => parsePlayerCommand('mpv *.mp3'),
      (err: unknown) => isAudioStreamError(err, 'USAGE') && (err as Error).message.includes('"*.mp3"') && !(err as Error).message.includes('"glob"'),
    );
  });

  test('refuses an empty command', () => {
    for (const line of ['', '   ', '\t']) {
      assert.throws(() => parsePlayerCommand(line), (err: unknown) => isAudioStreamError(err, 'USAGE') && /empty/.test((err as Error).message));
    }
  });
});
