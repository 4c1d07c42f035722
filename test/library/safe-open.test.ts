import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { AudioStreamError } from '../../src/protocol/index.js';
import { openLibraryFile, openLibraryFileSync } from '../../src/library/safe-open.js';
import { TestHarness } from '../support/server-harness.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** A library (`lib/`) beside an outside folder, with links of every kind. */
async function layout(): Promise<{ root: string; outside: string; insideIno: number; outsideIno: number }> {
  const base = fs.realpathSync(await harness.tempDir());
  const root = path.join(base, 'lib');
  const outside = path.join(base, 'outside');
  await fsp.mkdir(path.join(root, 'd'), { recursive: true });
  await fsp.mkdir(outside);
  await fsp.writeFile(path.join(root, 'd', 'f.mp3'), 'inside');
  await fsp.writeFile(path.join(outside, 'f.mp3'), 'OUTSIDE');
  await fsp.symlink('d', path.join(root, 'linked-dir'));
  await fsp.symlink('d/f.mp3', path.join(root, 'linked-file.mp3'));
  await fsp.symlink(outside, path.join(root, 'out-dir'));
  await fsp.symlink(path.join(outside, 'f.mp3'), path.join(root, 'out-file.mp3'));
  return { root, outside, insideIno: fs.statSync(path.join(root, 'd', 'f.mp3')).ino, outsideIno: fs.statSync(path.join(outside, 'f.mp3')).ino };
}

function openSyncOutcome(root: string, rel: string): number | string {
  try {
    const { fd, stat } = openLibraryFileSync(root, rel);
    fs.closeSync(fd);
    return stat.ino;
  } catch (err) {
    assert.ok(err instanceof AudioStreamError, String(err));
    return err.code;
  }
}

async function openOutcome(root: string, rel: string): Promise<number | string> {
  try {
    const { handle, stat } = await openLibraryFile(root, rel);
    await handle.close();
    return stat.ino;
  } catch (err) {
    assert.ok(err instanceof AudioStreamError, String(err));
    return err.code;
  }
}

test('safe open, both variants: plain paths and links that stay inside open the file; links out, missing files and folders are refused with their codes', async () => {
  const { root, insideIno } = await layout();
  const cases: [string, number | string][] = [
    ['d/f.mp3', insideIno],
    ['linked-dir/f.mp3', insideIno],
    ['linked-file.mp3', insideIno],
    ['out-dir/f.mp3', 'UNSAFE_PATH'],
    ['out-file.mp3', 'UNSAFE_PATH'],
    ['d/missing.mp3', 'FILE_VANISHED'],
    ['d', 'UNREADABLE'],
    ['../outside/f.mp3', 'UNSAFE_PATH'],
  ];
  for (const [rel, expected] of cases) {
    assert.equal(openSyncOutcome(root, rel), expected, `sync ${rel}`);
    assert.equal(await openOutcome(root, rel), expected, `async ${rel}`);
  }
});

test('a folder of the path swapped for a link to outside, again and again, while files are opened: never the outside file (both variants)', { timeout: 30_000 }, async () => {
  const { root, outside, insideIno, outsideIno } = await layout();
  // A real process swaps lib/d for a link to the outside folder and back, as fast as it can.
  const swapper = spawn('bash', ['-c', `cd "${root}" && for i in $(seq 3000); do mv d d.away; ln -s "${outside}" d; rm d; mv d.away d; done`], { stdio: 'ignore' });
  const done = new Promise<void>((resolve) => swapper.on('exit', () => resolve()));
  let running = true;
  void done.then(() => (running = false));
  const seen = new Map<number | string, number>();
  try {
    for (let i = 0; running && i < 200_000; i++) {
      const got = i % 2 === 0 ? openSyncOutcome(root, 'd/f.mp3') : await openOutcome(root, 'd/f.mp3');
      assert.notEqual(got, outsideIno, 'opened the outside file');
      seen.set(got, (seen.get(got) ?? 0) + 1);
    }
  } finally {
    swapper.kill();
    await done;
  }
  assert.ok((seen.get(insideIno) ?? 0) > 0, `the inside file was opened at times: ${JSON.stringify([...seen])}`);
  for (const key of seen.keys()) assert.ok(key === insideIno || key === 'UNSAFE_PATH' || key === 'FILE_VANISHED', `outcome ${String(key)}`);
});
