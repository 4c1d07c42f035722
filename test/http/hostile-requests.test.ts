/**
 * A hostile HTTP client: paths that try to leave the library in every encoding, odd ids,
 * malformed requests and headers. Files are addressed by database id only, so none of
 * these can name a file; the test also plants a secret beside the library and checks that
 * no answer ever carries it.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Library } from '../../src/library/index.js';
import { WebHarness, rawExchange, request } from './support/web-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

const SECRET = 'TOP-SECRET-6f1d0c';

describe('hostile requests', () => {
  let port: number;
  let library: Library;

  before(async () => {
    const root = await harness.sampleLibrary();
    // Outside the library, one level up; and a link inside the library pointing at it.
    await fsp.writeFile(path.join(root, '..', 'secret.mp3'), SECRET);
    await fsp.writeFile(path.join(root, '..', 'passwd'), SECRET);
    await fsp.symlink(path.join(root, '..', 'secret.mp3'), path.join(root, 'Singles', 'link-out.mp3'));
    library = await harness.openLibrary(root);
    ({ port } = await harness.start(library));
  });

  const TRAVERSALS = [
    '/files/../passwd',
    '/files/../../secret.mp3',
    '/files/%2e%2e/passwd',
    '/files/%2E%2E%2Fpasswd',
    '/files/1%2f..%2f..%2fpasswd',
    '/files/1/../../passwd',
    '/files/..%5c..%5cpasswd',
    '/files/..\\..\\passwd',
    '/files/1%00',
    '/files/1%00.mp3',
    '/files/%c0%ae%c0%ae/passwd',
    '/files/%c0%af',
    '/files/%e0%80%ae%e0%80%ae/passwd',
    '/files//etc/passwd',
    '/files/01',
    '/files/1.0',
    '/files/+1',
    '/files/-1',
    '/files/1e3',
    '/files/0x1',
    '/files/9999999999999999',
    '/files/ 1',
    '/assets/../package.json',
    '/assets/%2e%2e/package.json',
    '/assets/app.js/../../../package.json',
    '/assets/app.js%00',
    '/%2e%2e/passwd',
    '/..%2fpasswd',
    '/api/folders?path=..',
    '/api/folders?path=../..',
    '/api/folders?path=%2e%2e%2f%2e%2e',
    '/api/folders?path=/etc',
    '/api/folders?path=Singles/../..',
    '/api/folders?path=Singles%00',
    '/api/tracks/..%2f1',
    '//etc/passwd',
    'http://127.0.0.1/../passwd',
  ];

  test('no path encoding reaches a file outside the library (or any file by name)', async () => {
    for (const target of TRAVERSALS) {
      const reply = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1]);
      assert.ok(status === 404 || status === 400, `${target}: status ${status}\n${reply.slice(0, 300)}`);
      assert.ok(!reply.includes(SECRET), `${target} leaked the secret`);
    }
  });

  test('a link in the library that points outside is not listed, and no id serves it', async () => {
    assert.equal(library.store.track('Singles/link-out.mp3'), undefined);
    const tracks = JSON.parse((await request(port, '/api/search?q=link')).body.toString());
    assert.equal(tracks.total, 0);
    for (let id = 1; id <= 40; id++) {
      const res = await request(port, `/files/${id}`);
      assert.ok(!res.body.toString('latin1').includes(SECRET), `id ${id} served the secret`);
    }
  });

  test('malformed requests get 400 and a closed connection, never a crash', async () => {
    const cases = [
      `GET /files/1\0 HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /files/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-1\0\r\n\r\n`,
      `GET /files/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
      `GARBAGE\r\n\r\n`,
      `GET /files/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n`,
      `GET /files/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n`,
    ];
    for (const raw of cases) {
      const reply = await rawExchange(port, raw);
      assert.match(reply, /^HTTP\/1\.1 (400|431)/, JSON.stringify(raw.slice(0, 60)));
    }
    const alive = await request(port, '/api/session');
    assert.equal(alive.status, 200, 'the server still answers');
  });

  test('an overlong URL: 414', async () => {
    const res = await request(port, `/api/search?q=${'a'.repeat(9000)}`);
    assert.equal(res.status, 414);
  });

  test('without accounts, a Host that is a name other than localhost is refused (DNS rebinding)', async () => {
    const evil = await request(port, '/api/artists', { headers: { Host: 'attacker.example:80' } });
    assert.equal(evil.status, 421);
    for (const host of ['localhost:1', '127.0.0.1', '[::1]:5', 'music.localhost']) {
      assert.equal((await request(port, '/api/session', { headers: { Host: host } })).status, 200, host);
    }
  });

  test('hostile range and conditional headers: answered sensibly, nothing leaked', async () => {
    const id = library.store.track('Singles/Short Beep.wav')!.id;
    for (const range of ['bytes=-0', 'bytes=0-18446744073709551616', 'bytes=99999999999999999999-', `bytes=${'0-1,'.repeat(500)}0-1`, 'bytes=--1', 'bytes=1-2-3']) {
      const res = await request(port, `/files/${id}`, { headers: { Range: range } });
      assert.ok([200, 206, 416].includes(res.status), `${range}: ${res.status}`);
    }
    for (const headers of <Record<string, string>[]>[{ 'If-Modified-Since': 'not a date' }, { 'If-None-Match': '' }, { 'If-Range': 'garbage' }, { 'If-Unmodified-Since': 'x' }]) {
      const res = await request(port, `/files/${id}`, { headers: { Range: 'bytes=0-1', ...headers } });
      assert.ok([200, 206].includes(res.status), `${JSON.stringify(headers)}: ${res.status}`);
    }
  });

  test('wrong methods get 405 with Allow; unknown paths 404', async () => {
    const post = await request(port, '/files/1', { method: 'POST', body: '' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal((await request(port, '/api/login')).status, 405);
    assert.equal((await request(port, '/nothing')).status, 404);
  });
});
