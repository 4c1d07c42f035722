import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { WORKER_HASH_THRESHOLD, hashGrowingFile } from '../../src/client/file-hashing.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'as-hash-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes `content` to a file in steps, telling the hash as a real transfer would. */
async function hashWhileWriting(content: Buffer, prefix: number): Promise<string> {
  const file = path.join(dir, `f-${content.length}-${prefix}`);
  fs.writeFileSync(file, content.subarray(0, prefix));
  const fd = fs.openSync(file, 'r+');
  try {
    const hash = await hashGrowingFile(file, fd, prefix, content.length);
    for (let pos = prefix; pos < content.length; pos += 300_000) {
      const chunk = content.subarray(pos, Math.min(content.length, pos + 300_000));
      fs.writeSync(fd, chunk, 0, chunk.length, pos);
      hash.update(chunk);
      hash.advance(pos + chunk.length);
    }
    return await hash.digest(content.length);
  } finally {
    fs.closeSync(fd);
  }
}

test('inline (small) and worker-thread (large) hashing of a growing file give its SHA-256, resumed prefix included', { timeout: 30_000 }, async () => {
  for (const size of [0, 1000, WORKER_HASH_THRESHOLD + 12345]) {
    const content = randomBytes(size);
    const expected = createHash('sha256').update(content).digest('hex');
    assert.equal(await hashWhileWriting(content, 0), expected, `${size} bytes`);
    if (size > 0) assert.equal(await hashWhileWriting(content, Math.floor(size / 3)), expected, `${size} bytes resumed at a third`);
  }
});

test('the hashing thread never keeps the process alive once its jobs are done or aborted', { timeout: 30_000 }, () => {
  const moduleUrl = new URL('../../src/client/file-hashing.js', import.meta.url).href;
  const file = path.join(dir, 'big');
  fs.writeFileSync(file, randomBytes(WORKER_HASH_THRESHOLD));
  const script = `
    import fs from 'node:fs';
    const { hashGrowingFile } = await import(${JSON.stringify(moduleUrl)});
    const fd = fs.openSync(${JSON.stringify(file)}, 'r');
    const done = await hashGrowingFile(${JSON.stringify(file)}, fd, 0, ${WORKER_HASH_THRESHOLD});
    done.advance(${WORKER_HASH_THRESHOLD});
    console.log((await done.digest(${WORKER_HASH_THRESHOLD})).length);
    const aborted = await hashGrowingFile(${JSON.stringify(file)}, fd, 0, ${WORKER_HASH_THRESHOLD});
    aborted.abort();
  `;
  const scriptFile = path.join(dir, 'hash-and-leave.mjs');
  fs.writeFileSync(scriptFile, script);
  const run = spawnSync(process.execPath, [scriptFile], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, '64\n');
});
