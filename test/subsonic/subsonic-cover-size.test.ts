/**
 * getCoverArt `size`: covers scaled down by the real ffmpeg to fit the size (aspect kept),
 * never up, cached in the data directory by the original's content and the size; ffmpeg
 * failing or hanging (a test double standing in for a hung ffmpeg) sends the original.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CoverScaler } from '../../src/subsonic/cover-scaling.js';
import { imageDimensions } from '../../src/subsonic/image-dimensions.js';
import { request, WebHarness } from '../http/support/web-harness.js';
import { startSubsonicServer, subsonicClient, TOKEN_AUTH, type SubsonicServer } from './support/subsonic-harness.js';

const run = promisify(execFile);
const harness = new WebHarness();
after(() => harness.cleanup());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the client's types describe successes only
type Loose = Record<string, (params?: Record<string, unknown>) => Promise<any>>;

async function testImage(file: string, size: string): Promise<Buffer> {
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${size}:duration=1`, '-frames:v', '1', file]);
  return fsp.readFile(file);
}

describe('getCoverArt size (real ffmpeg)', () => {
  let server: SubsonicServer;
  let client: Loose;
  let png: Buffer;
  let jpg: Buffer;

  before(async () => {
    server = await startSubsonicServer(harness, {
      prepare: async (root) => {
        png = await testImage(path.join(root, 'Aurora Tones/First Light/cover.png'), '400x300');
        jpg = await testImage(path.join(root, 'Émilie Ölund/Café Noir/cover.jpg'), '640x640');
      },
    });
    client = subsonicClient(server, []) as unknown as Loose;
  });

  const coverOf = async (album: string, size?: number): Promise<{ body: Buffer; type: string | null; etag: string | null }> => {
    const id = (await client.search3({ query: album })).searchResult3.album[0].coverArt;
    const answer = await client.getCoverArt(size === undefined ? { id } : { id, size });
    assert.equal(answer.status, 200);
    return { body: Buffer.from(await answer.arrayBuffer()), type: answer.headers.get('content-type'), etag: answer.headers.get('etag') };
  };

  test('a PNG scaled to fit 100 keeps its aspect (100x75) and stays PNG; a JPEG to 64 is a 64x64 JPEG', async () => {
    const small = await coverOf('first light', 100);
    assert.equal(small.type, 'image/png');
    assert.deepEqual(imageDimensions(small.body), { width: 100, height: 75 });
    const jpeg = await coverOf('café noir', 64);
    assert.equal(jpeg.type, 'image/jpeg');
    assert.deepEqual(imageDimensions(jpeg.body), { width: 64, height: 64 });
    const original = await coverOf('first light');
    assert.deepEqual(original.body, png, 'no size: the original');
    assert.notEqual(small.etag, original.etag, 'each size has its own validator');
  });

  test('never scaled up: a size at or over the original sends the original bytes', async () => {
    assert.deepEqual((await coverOf('first light', 400)).body, png);
    assert.deepEqual((await coverOf('café noir', 5000)).body, jpg);
  });

  test('scaled covers are cached in the data directory, keyed by the cover and the size; a revalidation is 304', async () => {
    const cacheDir = path.join(path.dirname(server.library.store.database.file), 'cover-cache');
    const first = await coverOf('first light', 120);
    const names = (await fsp.readdir(cacheDir)).filter((n) => n.endsWith('-120.png'));
    assert.equal(names.length, 1, (await fsp.readdir(cacheDir)).join(', '));
    assert.deepEqual(await fsp.readFile(path.join(cacheDir, names[0]!)), first.body);
    assert.ok(!(await fsp.readdir(cacheDir)).some((n) => n.endsWith('.tmp')), 'no temporary file left');
    // Served from the cache: a marked copy there is what comes back.
    await fsp.writeFile(path.join(cacheDir, names[0]!), Buffer.concat([first.body, Buffer.from('cached')]));
    assert.deepEqual((await coverOf('first light', 120)).body.subarray(-6).toString(), 'cached');
    const id = (await client.search3({ query: 'first light' })).searchResult3.album[0].coverArt;
    // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request.
    const again = await request(server.port, `/rest/getCoverArt?${new URLSearchParams({ ...TOKEN_AUTH(), id, size: '120' })}`, { headers: { 'If-None-Match': first.etag! } });
    assert.equal(again.status, 304);
  });
});

describe('CoverScaler without a working ffmpeg', () => {
  let dir: string;
  let image: { body: Buffer; contentType: string; etag: string };

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'as-cover-scale-'));
    image = { body: await testImage(path.join(dir, 'big.png'), '300x300'), contentType: 'image/png', etag: '"abc"' };
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  test('a hanging ffmpeg (a test double: a script that only sleeps) is killed after the time limit; the original is sent, nothing cached', async () => {
    const hanging = path.join(dir, 'hanging-ffmpeg');
    await fsp.writeFile(hanging, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    const lines: string[] = [];
    const scaler = new CoverScaler({ ffmpeg: hanging, timeoutMs: 300, cacheDir: path.join(dir, 'cache'), log: (l) => lines.push(l) });
    const started = Date.now();
    const result = await scaler.scaled(image, 50);
    assert.ok(Date.now() - started < 5000);
    assert.equal(result, image);
    assert.match(lines.join('\n'), /ffmpeg took over 300 ms; the original is sent/);
    assert.deepEqual(await fsp.readdir(path.join(dir, 'cache')).catch(() => []), []);
  });

  test('no ffmpeg at all, or an image ffmpeg cannot read: the original', async () => {
    const lines: string[] = [];
    const missing = new CoverScaler({ ffmpeg: path.join(dir, 'no-such-ffmpeg'), log: (l) => lines.push(l) });
    assert.equal(await missing.scaled(image, 50), image);
    assert.match(lines[0]!, /cannot run ffmpeg \(ENOENT\)/);
    const garbage = { body: Buffer.from('not an image at all'), contentType: 'image/jpeg', etag: '"x"' };
    assert.equal(await new CoverScaler({ log: () => {} }).scaled(garbage, 50), garbage);
  });
});
