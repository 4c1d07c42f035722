import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { EarlyWriteback, WRITEBACK_INTERVAL } from '../../src/client/early-writeback.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'as-writeback-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a file written past several flush intervals is flushed and finishes whole', { timeout: 30_000 }, async () => {
  const file = path.join(dir, 'f');
  const fd = fs.openSync(file, 'w');
  try {
    const writeback = new EarlyWriteback(fd);
    const chunk = Buffer.alloc(4 * 1024 * 1024, 0x5a);
    let written = 0;
    while (written < 2 * WRITEBACK_INTERVAL + 5) {
      written += fs.writeSync(fd, chunk);
      writeback.written(chunk.length);
    }
    await writeback.finish();
    assert.equal(fs.statSync(file).size, written);
  } finally {
    fs.closeSync(fd);
  }
});

/**
 * A descriptor on which fdatasync fails (EINVAL, as it does on a pipe): a stand-in for a
 * disk that fails mid-transfer.
 */
function failingDescriptor(name: string): number {
  const fifo = path.join(dir, name);
  execFileSync('mkfifo', [fifo]);
  return fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
}

const isEinval = (err: NodeJS.ErrnoException): boolean => err.code === 'EINVAL';

test('a background flush that fails is reported by finish(), not lost', { timeout: 10_000 }, async () => {
  const fd = failingDescriptor('fifo');
  try {
    const writeback = new EarlyWriteback(fd);
    writeback.written(WRITEBACK_INTERVAL); // starts a background flush
    await assert.rejects(writeback.finish(), isEinval);
  } finally {
    fs.closeSync(fd);
  }
});

test('below one interval no background flush starts; finish() still flushes', { timeout: 10_000 }, async () => {
  const fd = failingDescriptor('fifo-small');
  try {
    const writeback = new EarlyWriteback(fd);
    writeback.written(WRITEBACK_INTERVAL - 1);
    await writeback.settle(); // nothing in flight: returns at once
    await assert.rejects(writeback.finish(), isEinval, 'the final flush is the one that fails');
  } finally {
    fs.closeSync(fd);
  }
});
