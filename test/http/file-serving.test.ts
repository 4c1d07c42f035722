/**
 * GET/HEAD /files/:id with HTTP's file semantics, checked with a plain HTTP client against a
 * real server on a real library (real audio files, real SQLite database).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Library } from '../../src/library/index.js';
import { TEST_HOST, WebHarness, fileBytes, request, sha256 } from './support/web-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

const FORMATS: Record<string, string> = {
  'Aurora Tones/First Light/01 Sunrise.flac': 'audio/flac',
  'Aurora Tones/First Light/02 Morning Chord.mp3': 'audio/mpeg',
  'Aurora Tones/First Light/03 Noon Hum.wav': 'audio/wav',
  'Émilie Ölund/Café Noir/01 Café Noir.ogg': 'audio/ogg',
  'Émilie Ölund/Café Noir/02 Crème Brûlée.m4a': 'audio/mp4',
  'Various Artists/Noise Études/Disc 1/02 Brown Noise.MP3': 'audio/mpeg',
};
const FLAC = 'Aurora Tones/First Light/01 Sunrise.flac';

describe('files over HTTP', () => {
  let root: string;
  let library: Library;
  let port: number;
  const idOf = (rel: string): number => library.store.track(rel)!.id;

  before(async () => {
    root = await harness.sampleLibrary();
    library = await harness.openLibrary(root);
    ({ port } = await harness.start(library));
  });

  test('each of the five formats whole: 200, its Content-Type, byte-exact body, length, validators, Accept-Ranges', async () => {
    for (const [rel, type] of Object.entries(FORMATS)) {
      const bytes = await fileBytes(root, rel);
      const res = await request(port, `/files/${idOf(rel)}`);
      assert.equal(res.status, 200, rel);
      assert.equal(res.headers['content-type'], type, rel);
      assert.equal(sha256(res.body), sha256(bytes), rel);
      assert.equal(res.headers['content-length'], String(bytes.length));
      assert.equal(res.headers['accept-ranges'], 'bytes');
      const stat = await fsp.stat(path.join(root, rel));
      assert.equal(res.headers['last-modified'], new Date(Math.floor(stat.mtimeMs / 1000) * 1000).toUTCString());
      assert.match(res.headers.etag!, /^W\/"[0-9a-f]+-[0-9a-f]+"$/, 'weak ETag while no SHA-256 is known');
      assert.equal(res.headers['content-disposition'], undefined);
    }
  });

  test('a strong ETag from the SHA-256 once the library knows it', async () => {
    const rel = 'Singles/Short Beep.wav';
    const expected = sha256(await fileBytes(root, rel));
    assert.equal(await library.sha256(library.current.byPath(rel)!), expected);
    const res = await request(port, `/files/${idOf(rel)}`);
    assert.equal(res.headers.etag, `"sha256-${expected}"`);
    assert.equal(sha256(res.body), expected);
  });

  test('HEAD: the same headers, no body', async () => {
    const bytes = await fileBytes(root, FLAC);
    const res = await request(port, `/files/${idOf(FLAC)}`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(bytes.length));
    assert.equal(res.headers['content-type'], 'audio/flac');
    assert.ok(res.headers.etag);
    assert.equal(res.body.length, 0);
  });

  test('single ranges: 206 with Content-Range and exactly those bytes (first, middle, last byte, suffix, open end, end clipped)', async () => {
    const bytes = await fileBytes(root, FLAC);
    const size = bytes.length;
    const cases: [string, number, number][] = [
      ['bytes=0-9', 0, 9],
      ['bytes=100-2099', 100, 2099],
      [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
      ['bytes=-1', size - 1, size - 1],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      [`bytes=${size - 3}-${size + 1000}`, size - 3, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const res = await request(port, `/files/${idOf(FLAC)}`, { headers: { Range: range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
      assert.equal(res.headers['content-length'], String(end - start + 1), range);
      assert.equal(sha256(res.body), sha256(bytes.subarray(start, end + 1)), range);
    }
  });

  test('a range past the end (or last before first): 416 with Content-Range bytes */SIZE', async () => {
    const size = (await fileBytes(root, FLAC)).length;
    for (const range of ['bytes=5-1' /* last before first: invalid, as nginx answers */, `bytes=${size}-`, `bytes=${size}-${size + 10}`, 'bytes=999999999-']) {
      const res = await request(port, `/files/${idOf(FLAC)}`, { headers: { Range: range } });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers['content-range'], `bytes */${size}`, range);
    }
  });

  test('a malformed range, another unit, or several ranges: the whole file with 200', async () => {
    const bytes = await fileBytes(root, FLAC);
    for (const range of ['bytes=abc', 'items=0-1', 'bytes=0-1,10-20', 'bytes=']) {
      const res = await request(port, `/files/${idOf(FLAC)}`, { headers: { Range: range } });
      assert.equal(res.status, 200, range);
      assert.equal(res.headers['content-range'], undefined, range);
      assert.equal(sha256(res.body), sha256(bytes), range);
    }
  });

  test('If-None-Match and If-Modified-Since: 304 without a body while the file is unchanged', async () => {
    const first = await request(port, `/files/${idOf(FLAC)}`);
    const etag = first.headers.etag!;
    const lastModified = first.headers['last-modified']!;
    for (const headers of <Record<string, string>[]>[{ 'If-None-Match': etag }, { 'If-None-Match': `"other", ${etag}` }, { 'If-None-Match': '*' }, { 'If-Modified-Since': lastModified }]) {
      const res = await request(port, `/files/${idOf(FLAC)}`, { headers });
      assert.equal(res.status, 304, JSON.stringify(headers));
      assert.equal(res.body.length, 0);
      assert.equal(res.headers.etag, etag);
      assert.equal(res.headers['content-length'], undefined);
    }
    for (const headers of <Record<string, string>[]>[{ 'If-None-Match': '"other"' }, { 'If-Modified-Since': new Date(Date.parse(lastModified) - 60_000).toUTCString() }]) {
      const res = await request(port, `/files/${idOf(FLAC)}`, { headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
    }
  });

  test('If-Match that does not match, and If-Unmodified-Since before the change: 412', async () => {
    const first = await request(port, `/files/${idOf(FLAC)}`);
    for (const headers of <Record<string, string>[]>[{ 'If-Match': '"other"' }, { 'If-Match': first.headers.etag! /* weak: never matches If-Match */ }, { 'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' }]) {
      const res = await request(port, `/files/${idOf(FLAC)}`, { headers });
      assert.equal(res.status, 412, JSON.stringify(headers));
      assert.equal(res.body.length, 0);
    }
  });

  test('?download=1: Content-Disposition attachment with the file name (UTF-8 and an ASCII fallback)', async () => {
    const rel = 'Émilie Ölund/Café Noir/01 Café Noir.ogg';
    const res = await request(port, `/files/${idOf(rel)}?download=1`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-disposition'], `attachment; filename="01 Caf? Noir.ogg"; filename*=UTF-8''01%20Caf%C3%A9%20Noir.ogg`);
  });

  test('an unknown id: 404 with a JSON error code', async () => {
    for (const id of ['999999', '123456789012345']) {
      const res = await request(port, `/files/${id}`);
      assert.equal(res.status, 404);
      assert.equal(JSON.parse(res.body.toString()).error.code, 'NOT_FOUND');
    }
  });
});

describe('files that change, and clients that stop reading', () => {
  test('a file changed between two range requests: the ETag changes and If-Range falls back to the whole new file with 200', async () => {
    const root = await harness.tempDir();
    const rel = 'song.wav';
    const original = Buffer.alloc(64 * 1024, 1);
    await fsp.writeFile(path.join(root, rel), original);
    await fsp.utimes(path.join(root, rel), new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    const library = await harness.openLibrary(root);
    const { port } = await harness.start(library);
    await library.sha256(library.current.byPath(rel)!);
    const id = library.store.track(rel)!.id;

    const first = await request(port, `/files/${id}`, { headers: { Range: 'bytes=0-1023' } });
    assert.equal(first.status, 206);
    const etag = first.headers.etag!;
    assert.equal(etag, `"sha256-${sha256(original)}"`);
    const resumed = await request(port, `/files/${id}`, { headers: { Range: 'bytes=1024-2047', 'If-Range': etag } });
    assert.equal(resumed.status, 206, 'unchanged: If-Range with the strong ETag gets the range');
    const byDate = await request(port, `/files/${id}`, { headers: { Range: 'bytes=1024-2047', 'If-Range': first.headers['last-modified']! } });
    assert.equal(byDate.status, 206, 'unchanged: If-Range with the Last-Modified date gets the range');

    // Same size, new bytes, new time: the same path and id, another file.
    const changed = Buffer.alloc(64 * 1024, 2);
    await fsp.writeFile(path.join(root, rel), changed);
    const again = await request(port, `/files/${id}`, { headers: { Range: 'bytes=1024-2047', 'If-Range': etag } });
    assert.equal(again.status, 200);
    assert.notEqual(again.headers.etag, etag);
    assert.equal(again.headers['content-range'], undefined);
    assert.equal(sha256(again.body), sha256(changed));
    const stale = await request(port, `/files/${id}`, { headers: { Range: 'bytes=1024-2047', 'If-Range': first.headers['last-modified']! } });
    assert.equal(stale.status, 200, 'changed: the old date no longer matches either');
    const weak = await request(port, `/files/${id}`, { headers: { Range: 'bytes=0-9', 'If-Range': again.headers.etag! } });
    assert.equal(weak.status, 200, 'a weak ETag never satisfies If-Range (RFC 9110 13.1.5)');
    const notModified = await request(port, `/files/${id}`, { headers: { 'If-None-Match': etag } });
    assert.equal(notModified.status, 200, 'the old ETag no longer gets a 304');
  });

  test('a client that stops reading a 512 MiB file: the server stops reading it (memory stays bounded)', { timeout: 60_000 }, async () => {
    const root = await harness.tempDir();
    const rel = 'big.wav';
    const size = 512 * 1024 * 1024;
    const handle = await fsp.open(path.join(root, rel), 'w');
    await handle.truncate(size); // sparse: no disk used
    await handle.close();
    const library = await harness.openLibrary(root);
    const { port } = await harness.start(library);
    const id = library.store.track(rel)!.id;
    global.gc?.();
    const before = process.memoryUsage();
    let received = 0;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get({ host: TEST_HOST, port, path: `/files/${id}`, agent: false, headers: { Host: `127.0.0.1:${port}` } }, resolve);
      req.on('error', reject);
    });
    assert.equal(res.statusCode, 200);
    res.on('data', (c: Buffer) => {
      received += c.length;
      res.pause(); // and never resume: the client has stopped reading
    });
    await new Promise((r) => setTimeout(r, 1500));
    const during = process.memoryUsage();
    const growth = during.arrayBuffers - before.arrayBuffers + (during.rss - before.rss);
    res.destroy();
    assert.ok(received < size / 8, `the client took ${received} bytes`);
    assert.ok(growth < 96 * 1024 * 1024, `memory grew by ${(growth / 1048576).toFixed(1)} MiB while a client held a 512 MiB response`);
  });
});
