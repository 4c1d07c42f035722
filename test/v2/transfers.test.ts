/**
 * Protocol v2 transfers end to end: ranges, error replies on a connection that stays
 * usable, resume after a cut connection, corruption caught by the hash, files over 4 GiB.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ClientConnection } from '../../src/client/index.js';
import { clientArgs, describeRun, runClient } from '../client/support/run-client.js';
import { startTamperingProxy } from '../doubles/tampering-proxy.js';
import { TestHarness, randomContent, sha256, sha256File } from '../support/server-harness.js';

const harness = new TestHarness();
after(() => harness.cleanup());

/** Waits until `raw` has received at least `pattern`-matching text, or 5 s. */
async function waitForText(read: () => Buffer, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = read().toString('latin1');
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(text.slice(0, 200))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GET over a raw socket', () => {
  test('a byte range comes with the whole file\'s SHA-256; errors leave the connection usable', { timeout: 10_000 }, async () => {
    const content = randomContent(100_000);
    const root = await harness.library({ 'dir/song one.flac': content });
    const server = await harness.startServer({ root });
    const raw = await harness.connect(server.port);
    await raw.send(Buffer.from('HELLO AS/2\r\nLIST\r\nGET "nope.mp3"\r\nGET "dir/song one.flac" 99990 100\r\nGET "dir/song one.flac" 100001\r\nFROB\r\nGET "dir/song one.flac" 5 3\r\n'));
    const hash = sha256(content);
    const text = await waitForText(() => raw.received, /BAD_RANGE[^\n]*\n[^\n]*UNKNOWN_REQUEST[^\n]*\nOK 100000 5 3\r\n[\s\S]{3}DONE [0-9a-f]{64}\r\n$/);
    const expected =
      'ERR NOT_FOUND no file "nope.mp3" in the library\r\n' +
      `OK 100000 99990 10\r\n${content.subarray(99990).toString('latin1')}DONE ${hash}\r\n` +
      'ERR BAD_RANGE offset 100001 is past the end of "dir/song one.flac" (100000 bytes)\r\n' +
      'ERR UNKNOWN_REQUEST unknown request "FROB"\r\n' +
      `OK 100000 5 3\r\n${content.subarray(5, 8).toString('latin1')}DONE ${hash}\r\n`;
    assert.equal(text.replace(/^AS\/2 OK [^\r]*\r\n/, ''), expected);
  });
});

describe('get resumes and verifies', () => {
  test('after the connection is cut mid-transfer (cutting proxy double), the next get continues from the partial file', { timeout: 20_000 }, async () => {
    const content = randomContent(3 * 1024 * 1024 + 17);
    const root = await harness.library({ 'album/long.wav': content });
    const server = await harness.startServer({ root });
    const proxy = await startTamperingProxy({ targetPort: server.port, cutAfter: 1024 * 1024 });
    after(() => proxy.close());
    const lib = path.join(await harness.tempDir(), 'saved');
    const partPath = path.join(lib, 'album', '.long.wav.part');

    const first = await runClient(clientArgs(proxy.port, lib), 'get 0\n');
    assert.equal(first.code, 1, describeRun(first));
    assert.match(first.stderr, /closed the connection after \d+ of \d+ bytes/);
    const partial = await fsp.stat(partPath);
    assert.ok(partial.size > 0 && partial.size < content.length, `a partial file is kept (${partial.size} bytes)`);
    await assert.rejects(fsp.stat(path.join(lib, 'album', 'long.wav')), 'nothing at the final name');

    const second = await runClient(clientArgs(proxy.port, lib), 'get 0\n');
    assert.equal(second.code, 0, describeRun(second));
    assert.match(second.stdout, /resumed at .*verified/);
    assert.equal(await sha256File(path.join(lib, 'album', 'long.wav')), sha256(content));
    await assert.rejects(fsp.stat(partPath), 'the partial file is gone');
    const gets = server.log.lines.map((l) => l.message).filter((m) => m.includes('GET "album/long.wav"'));
    assert.ok(gets.some((m) => new RegExp(`GET "album/long.wav" ${partial.size}\\+${content.length - partial.size} of`).test(m)), gets.join('\n'));

    const third = await runClient(clientArgs(proxy.port, lib), 'get 0\n');
    assert.equal(third.code, 0, describeRun(third));
    assert.match(third.stdout, /already saved and verified: album\/long\.wav/);
  });

  test('a flipped byte (corrupting proxy double) is caught by the hash and nothing is kept', { timeout: 20_000 }, async () => {
    const content = randomContent(200_000);
    const root = await harness.library({ 'x.mp3': content });
    const server = await harness.startServer({ root });
    // Byte 5000 of the server's stream on the first connection: inside the file body.
    const proxy = await startTamperingProxy({ targetPort: server.port, flipByteAt: 5000 });
    after(() => proxy.close());
    const lib = path.join(await harness.tempDir(), 'saved');
    const run = await runClient(clientArgs(proxy.port, lib), 'get 0\n');
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /SHA-256 does not match/);
    assert.deepEqual(await fsp.readdir(lib), [], 'neither the file nor a partial file is left');
  });
});

describe('files of 4 GiB and more', () => {
  test('a sparse file over 4 GiB is left out of the v1 view and arrives whole over v2', { timeout: 180_000 }, async () => {
    const root = await harness.library({ 'small.mp3': Buffer.from('small') });
    const big = path.join(root, 'huge.wav');
    const size = 2 ** 32 + 4099;
    const handle = await fsp.open(big, 'w');
    await handle.truncate(size);
    await handle.write(Buffer.from('TAIL'), 0, 4, size - 4);
    await handle.close();
    const server = await harness.startServer({ root });

    const raw = await harness.connect(server.port);
    await raw.send(Buffer.from('LIST\r\n'));
    await raw.end();
    assert.equal((await raw.waitForClose()).received.toString(), '0:small.mp3\r\n', 'v1 never sees a size it cannot describe');

    const connection = new ClientConnection({ host: '127.0.0.1', port: server.port });
    try {
      const list = await connection.list();
      const entry = list.entries.find((e) => e.path === 'huge.wav')!;
      assert.equal(entry.size, size);
      const file = await connection.fetch(entry);
      assert.equal(file.length, size);
      const hash = createHash('sha256');
      let received = 0;
      let last: Buffer = Buffer.alloc(0);
      for await (const chunk of file.body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        received += chunk.length;
        last = chunk;
      }
      const tail = last.subarray(-4); // the 4 bytes were written at the very end
      assert.equal(received, size);
      assert.equal(tail.toString(), 'TAIL');
      assert.equal(await file.trailer, hash.digest('hex'));
    } finally {
      connection.close();
    }
  });
});
