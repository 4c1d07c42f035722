/** End to end over real sockets: the bundled sample library, LIST and every STREAM. */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TestHarness, sha256, sha256File, type RunningServer } from '../support/server-harness.js';
import { LIST_REQUEST, decodeStreamReply, listReply, streamRequest } from '../support/wire.js';

// This file runs as dist/test/server/sample-library.test.js: three levels below the project.
const SAMPLE_ROOT = fileURLToPath(new URL('../../../sample-library', import.meta.url));

/**
 * The audio files of the sample library in v1 index order, written out by hand: sorted by
 * UTF-16 code unit, so "É" (U+00C9) comes after every ASCII letter; cover.txt and notes.txt
 * are not audio; ".MP3" counts.
 */
const SAMPLE_PATHS = [
  'Aurora Tones/First Light/01 Sunrise.flac',
  'Aurora Tones/First Light/02 Morning Chord.mp3',
  'Aurora Tones/First Light/03 Noon Hum.wav',
  "Singles/Don't Panic.m4a",
  'Singles/Short Beep.wav',
  'Various Artists/Noise \u00c9tudes/Disc 1/01 Pink Noise.flac',
  'Various Artists/Noise \u00c9tudes/Disc 1/02 Brown Noise.MP3',
  'Various Artists/Noise \u00c9tudes/Disc 1/03 White Noise.ogg',
  '\u00c9milie \u00d6lund/Caf\u00e9 Noir/01 Caf\u00e9 Noir.ogg',
  '\u00c9milie \u00d6lund/Caf\u00e9 Noir/02 Cr\u00e8me Br\u00fbl\u00e9e.m4a',
];

const onDisk = (rel: string): string => path.join(SAMPLE_ROOT, ...rel.split('/'));

const harness = new TestHarness();
let server: RunningServer;

before(async () => {
  server = await harness.startServer({ root: SAMPLE_ROOT });
});
after(() => harness.cleanup());

describe('sample library over TCP', () => {
  test('the sample library is where this test expects it', async () => {
    for (const rel of SAMPLE_PATHS) await fsp.access(onDisk(rel));
  });

  test('LIST sends exactly the expected bytes, then nothing more', { timeout: 10_000 }, async () => {
    const client = await harness.connect(server.port);
    await client.send(LIST_REQUEST);
    await client.end(); // half-close: the server's FIN marks the end of everything it sent
    const { received, endedByPeer } = await client.waitForClose();
    const expected = listReply(SAMPLE_PATHS);
    assert.ok(expected.toString('utf8').startsWith('9:\u00c9milie \u00d6lund/Caf\u00e9 Noir/02 Cr\u00e8me Br\u00fbl\u00e9e.m4a\r\n'));
    assert.ok(expected.toString('utf8').endsWith('0:Aurora Tones/First Light/01 Sunrise.flac\r\n'));
    assert.deepEqual(received, expected);
    assert.equal(endedByPeer, true);
  });

  for (const [index, rel] of SAMPLE_PATHS.entries()) {
    test(`STREAM ${index} (${rel}) matches the file on disk by size and SHA-256`, { timeout: 10_000 }, async () => {
      const client = await harness.connect(server.port);
      await client.send(streamRequest(index));
      await client.end();
      const { received } = await client.waitForClose();
      const reply = decodeStreamReply(received);
      const stats = await fsp.stat(onDisk(rel));
      assert.equal(reply.size, stats.size);
      assert.equal(reply.end, received.length, 'nothing after the body');
      assert.equal(sha256(reply.body), await sha256File(onDisk(rel)));
    });
  }

  test('every STREAM request in one packet is answered in order', { timeout: 10_000 }, async () => {
    const client = await harness.connect(server.port);
    // Highest index first, so that order mistakes cannot pass by accident.
    const order = SAMPLE_PATHS.map((_, i) => i).reverse();
    await client.send(Buffer.concat(order.map(streamRequest)));
    await client.end();
    const { received } = await client.waitForClose();
    let offset = 0;
    for (const index of order) {
      const reply = decodeStreamReply(received, offset);
      assert.equal(sha256(reply.body), await sha256File(onDisk(SAMPLE_PATHS[index]!)), `reply for index ${index}`);
      offset = reply.end;
    }
    assert.equal(offset, received.length);
  });
});
