import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { historyFile, loadHistory, MAX_HISTORY_LINE, saveHistory } from '../../src/client/shell-history.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { makeTempDir, removeDir } from './support/files.js';

describe('shell history file', () => {
  let work: string;
  before(async () => {
    work = await makeTempDir('history');
  });
  after(async () => {
    await removeDir(work);
  });

  test('lives in the client state directory ($XDG_STATE_HOME/audiostream/history)', () => {
    assert.equal(historyFile({ XDG_STATE_HOME: '/s', HOME: '/h' }), '/s/audiostream/history');
    assert.equal(historyFile({ HOME: '/h' }), '/h/.local/state/audiostream/history');
  });

  test('no file yet: empty history', async () => {
    assert.deepEqual(await loadHistory(path.join(work, 'none', 'history')), []);
  });

  test('saved and loaded again, oldest first; the folder is created 0700 and the file 0600', async () => {
    const file = historyFile({ XDG_STATE_HOME: path.join(work, 'state') });
    await saveHistory(file, ['list', 'get 3', 'play Aurora Tones']);
    assert.deepEqual(await loadHistory(file), ['list', 'get 3', 'play Aurora Tones']);
    assert.equal((await fsp.stat(file)).mode & 0o777, 0o600);
    assert.equal((await fsp.stat(path.dirname(file))).mode & 0o777, 0o700);
    assert.deepEqual((await fsp.readdir(path.dirname(file))).sort(), ['history'], 'no temporary file left');
  });

  test('bounded: only the last N lines are saved, and only the last N loaded', async () => {
    const file = path.join(work, 'bounded', 'history');
    const lines = Array.from({ length: 50 }, (_, i) => `get ${i}`);
    await saveHistory(file, lines, 10);
    assert.deepEqual(await loadHistory(file, 100), lines.slice(-10));
    assert.deepEqual(await loadHistory(file, 3), lines.slice(-3));
  });

  test('blank lines, lines starting with a space, and overlong lines are not kept', async () => {
    const file = path.join(work, 'filter', 'history');
    await saveHistory(file, ['list', '', '   ', ' secret', 'x'.repeat(MAX_HISTORY_LINE + 1), 'get 1']);
    assert.deepEqual(await loadHistory(file), ['list', 'get 1']);
  });

  test('a huge history file is read from its end only, starting at a whole line', async () => {
    const file = path.join(work, 'huge', 'history');
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const lines = Array.from({ length: 20_000 }, (_, i) => `find word${i} ${'y'.repeat(200)}`);
    await fsp.writeFile(file, `${lines.join('\n')}\n`);
    const loaded = await loadHistory(file, 5);
    assert.deepEqual(loaded, lines.slice(-5));
  });

  test('a saved history replaces the old one whole; a file in the way of the folder is a WRITE_FAILED line', async () => {
    const file = path.join(work, 'replace', 'history');
    await saveHistory(file, ['a', 'b']);
    await saveHistory(file, ['c']);
    assert.deepEqual(await loadHistory(file), ['c']);
    const blocked = path.join(work, 'blocker');
    await fsp.writeFile(blocked, 'not a folder');
    await assert.rejects(saveHistory(path.join(blocked, 'history'), ['x']), (err: unknown) => isAudioStreamError(err, 'WRITE_FAILED') && /EEXIST|ENOTDIR/.test((err as Error).message));
  });
});
