import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayText } from '../../src/client/listing-format.js';

test('server text is shown with terminal controls and bidi overrides escaped', () => {
  assert.equal(displayText('plain Café'), 'plain Café');
  assert.equal(displayText('a\x1b[2Jb'), 'a\\x1b[2Jb');
  assert.equal(displayText('x\x9by'), 'x\\x9by', 'C1 CSI');
  // "evil\u202Eavm.exe" would display as "evilexe.mva"
  assert.equal(displayText('evil\u202eavm.flac'), 'evil\\u202eavm.flac');
  assert.equal(displayText('a\u2066b\u2069'), 'a\\u2066b\\u2069');
});
