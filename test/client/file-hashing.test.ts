import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { hashGrowingFile } from '../../src/client/file-hashing.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'as-hash-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a growing file hashes to its SHA-256, a resumed prefix read back from disk included', { timeout: 30_000 }, async () => {
  for (const size of [0, 1000, 3 * 1024 * 1024 + 5]) {
    const content = randomBytes(size);
    const expected = createHash('sha256').update(content).digest('hex');
    for (const prefix of size === 0 ? [0] : [0, Math.floor(size / 3), size]) {
      const file = path.join(dir, `f-${size}-${prefix}`);
      fs.writeFileSync(file, content.subarray(0, prefix));
      const fd = fs.openSync(file, 'r+');
      try {
        const hash = await hashGrowingFile(fd, prefix);
        for (let pos = prefix; pos < size; pos += 300_000) hash.update(content.subarray(pos, Math.min(size, pos + 300_000)));
        assert.equal(hash.digest(), expected, `${size} bytes resumed at ${prefix}`);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
});
