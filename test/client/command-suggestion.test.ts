import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { editDistance, suggestCommand } from '../../src/client/command-suggestion.js';

const COMMANDS = ['list', 'ls', 'find', 'get', 'stream', 'stream+', 'play', 'add', 'queue', 'next', 'prev', 'pause', 'resume', 'seek', 'vol', 'stop', 'status', 'info', 'verify', 'help', 'quit'];

describe('editDistance', () => {
  test('insertions, deletions, substitutions, and a swap of neighbours counts as one', () => {
    assert.equal(editDistance('list', 'list'), 0);
    assert.equal(editDistance('lst', 'list'), 1);
    assert.equal(editDistance('lisst', 'list'), 1);
    assert.equal(editDistance('lost', 'list'), 1);
    assert.equal(editDistance('lsit', 'list'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('é', 'e'), 1, 'by code point');
  });

  test('symmetric, zero only for equal strings, and within the longer length (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        assert.equal(d, editDistance(b, a));
        assert.equal(d === 0, a === b);
        assert.ok(d <= Math.max([...a].length, [...b].length));
      }),
    );
  });
});

describe('suggestCommand', () => {
  for (const [typed, meant] of [
    ['lsit', 'list'],
    ['lis', 'list'],
    ['LIST', 'list'],
    ['gte', 'get'],
    ['strem', 'stream'],
    ['paus', 'pause'],
    ['resme', 'resume'],
    ['qeueu', 'queue'],
    ['hlep', 'help'],
    ['qiut', 'quit'],
    ['volume', 'vol'],
  ] as const) {
    test(`"${typed}" → did you mean "${meant}"?`, () => {
      assert.equal(suggestCommand(typed, COMMANDS), meant);
    });
  }

  test('a different word is no typo: no suggestion', () => {
    for (const typed of ['banana', 'q', 'xyzzy', 'download', '', '   ', 'x'.repeat(100)]) {
      assert.equal(suggestCommand(typed, COMMANDS), undefined, typed);
    }
  });

  test('on a tie the earlier command wins', () => {
    assert.equal(suggestCommand('st', ['stop', 'status']), 'stop');
    assert.equal(suggestCommand('st', ['status', 'stop']), 'status');
  });
});
