/**
 * Media retrieval with the real client library: stream and download send the original bytes
 * (compared by SHA-256 with the file on disk), ranges and HEAD work as for the web player,
 * getCoverArt sends the original image when it is no larger than `size`, and failures stay in the envelope.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebHarness } from '../http/support/web-harness.js';
import { assertValidJson, rest, startSubsonicServer, subsonicClient, TOKEN_AUTH, type Recorded, type SubsonicServer } from './support/subsonic-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

const sha256 = (bytes: Buffer | Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** A real 1×1 PNG. */
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005000201e2b1b8a70000000049454e44ae426082', 'hex');

describe('Subsonic media retrieval (subsonic-api client)', () => {
  let server: SubsonicServer;
  const recorded: Recorded[] = [];
  let client: ReturnType<typeof subsonicClient>;

  before(async () => {
    server = await startSubsonicServer(harness, { prepare: (root) => fsp.writeFile(path.join(root, 'Aurora Tones/First Light/cover.png'), PNG) });
    client = subsonicClient(server, recorded);
  });

  test('stream and download send every file byte for byte (SHA-256), with its type; download as an attachment', async () => {
    for (const entry of server.library.current.entries) {
      const id = `tr-${server.library.store.track(entry.path)!.id}`;
      const onDisk = sha256(await fsp.readFile(path.join(server.root, entry.path)));
      const streamed = await client.stream({ id });
      assert.equal(streamed.status, 200, entry.path);
      assert.match(streamed.headers.get('content-type') ?? '', /^audio\//, entry.path);
      assert.equal(streamed.headers.get('content-disposition'), null);
      assert.equal(sha256(new Uint8Array(await streamed.arrayBuffer())), onDisk, entry.path);
      const downloaded = await client.download({ id });
      assert.match(downloaded.headers.get('content-disposition') ?? '', /^attachment/);
      assert.equal(sha256(new Uint8Array(await downloaded.arrayBuffer())), onDisk, entry.path);
    }
  });

  test('stream honours a byte range (206, Content-Range) and HEAD; format and maxBitRate are ignored (no transcoding)', async () => {
    const entry = server.library.current.entries.find((e) => e.path.endsWith('.flac'))!;
    const id = `tr-${server.library.store.track(entry.path)!.id}`;
    const bytes = await fsp.readFile(path.join(server.root, entry.path));
    const url = new URL(`${server.base}/rest/stream.view`);
    for (const [k, v] of Object.entries({ ...TOKEN_AUTH(), id, format: 'mp3', maxBitRate: '128' })) url.searchParams.set(k, v);
    const ranged = await fetch(url, { headers: { Range: 'bytes=10-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 10-99/${bytes.length}`);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(10, 100));
    const whole = await fetch(url);
    assert.equal(sha256(new Uint8Array(await whole.arrayBuffer())), sha256(bytes), 'the original, not a transcoding');
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    const song = assertValidJson('getSong', (await rest(server, 'getSong', { ...TOKEN_AUTH(), id, f: 'json' })).text) as { song: Record<string, unknown> };
    assert.equal(song.song.transcodedContentType, undefined);
    assert.equal(song.song.size, bytes.length);
  });

  test('getCoverArt sends the original image beside the files, for the album and for its songs', async () => {
    const album = (await client.search3({ query: 'first light' })).searchResult3.album![0]!;
    for (const id of [album.coverArt!, (await client.getAlbum({ id: album.id })).album.song![0]!.coverArt!]) {
      const cover = await client.getCoverArt({ id, size: 64 });
      assert.equal(cover.status, 200);
      assert.equal(cover.headers.get('content-type'), 'image/png');
      assert.deepEqual(Buffer.from(await cover.arrayBuffer()), PNG, 'the original image (smaller than size: never scaled up)');
    }
  });

  test('unknown ids and albums without art: error 70 in the envelope, HTTP 200, never a file', async () => {
    for (const [name, id] of [['stream', 'tr-999999'], ['download', 'al-1'], ['stream', '../../etc/passwd'], ['getCoverArt', 'ar-1']] as const) {
      const answer = await rest(server, name, { ...TOKEN_AUTH(), id, f: 'json' });
      assert.equal(answer.status, 200, `${name} ${id}`);
      const envelope = JSON.parse(answer.text)['subsonic-response'];
      assert.equal(envelope.error.code, 70, `${name} ${id}`);
    }
    const noArt = (await client.search3({ query: 'singles' })).searchResult3.album![0]!;
    const answer = await rest(server, 'getCoverArt', { ...TOKEN_AUTH(), id: noArt.coverArt!, f: 'json' });
    assert.equal(JSON.parse(answer.text)['subsonic-response'].error.code, 70);
    const missing = await rest(server, 'stream', { ...TOKEN_AUTH(), f: 'json' });
    assert.equal(JSON.parse(missing.text)['subsonic-response'].error.code, 10);
  });
});
