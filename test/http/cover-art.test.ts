/**
 * Cover art over HTTP, from real files made by ffmpeg: an embedded picture (MP3 APIC),
 * a cover.jpg beside the files, a placeholder where there is none, each with its own ETag;
 * a folder image that is a link out of the library is not served.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Library } from '../../src/library/index.js';
import { WebHarness, request, sha256 } from './support/web-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

const FF = ['-nostdin', '-loglevel', 'error', '-y'];

describe('cover art', () => {
  let library: Library;
  let port: number;
  let root: string;
  let scratch: string;
  const idOf = (rel: string): number => library.store.track(rel)!.id;

  before(async () => {
    root = path.join(await harness.tempDir(), 'library');
    scratch = await harness.tempDir();
    for (const dir of ['Embedded', 'Beside', 'None', 'Linked']) await fsp.mkdir(path.join(root, dir), { recursive: true });
    const png = path.join(scratch, 'red.png');
    execFileSync('ffmpeg', [...FF, '-f', 'lavfi', '-i', 'color=red:s=32x32', '-frames:v', '1', png]);
    execFileSync('ffmpeg', [...FF, '-f', 'lavfi', '-i', 'sine=duration=1', '-i', png, '-map', '0:a', '-map', '1:v', '-c:v', 'copy', '-id3v2_version', '3', '-metadata:s:v', 'comment=Cover (front)', '-metadata', 'album=Pictured', path.join(root, 'Embedded', 'a.mp3')]);
    execFileSync('ffmpeg', [...FF, '-f', 'lavfi', '-i', 'color=blue:s=40x40', '-frames:v', '1', path.join(root, 'Beside', 'Cover.JPG')]);
    for (const dir of ['Beside', 'None', 'Linked']) execFileSync('ffmpeg', [...FF, '-f', 'lavfi', '-i', 'sine=duration=1', '-metadata', `album=${dir}`, '-metadata', 'artist=Someone', path.join(root, dir, 'b.mp3')]);
    execFileSync('ffmpeg', [...FF, '-f', 'lavfi', '-i', 'color=green:s=8x8', '-frames:v', '1', path.join(scratch, 'outside.jpg')]);
    await fsp.symlink(path.join(scratch, 'outside.jpg'), path.join(root, 'Linked', 'folder.jpg'));
    library = await harness.openLibrary(root);
    ({ port } = await harness.start(library));
  });

  test('an embedded picture: its bytes, its type, a strong ETag, then 304', async () => {
    const res = await request(port, `/api/tracks/${idOf('Embedded/a.mp3')}/cover`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(sha256(res.body), sha256(await fsp.readFile(path.join(scratch, 'red.png'))));
    assert.match(res.headers.etag!, /^"[A-Za-z0-9_-]{32}"$/);
    const again = await request(port, `/api/tracks/${idOf('Embedded/a.mp3')}/cover`, { headers: { 'If-None-Match': res.headers.etag! } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  test('an image beside the file (cover.jpg, any letter case)', async () => {
    const res = await request(port, `/api/tracks/${idOf('Beside/b.mp3')}/cover`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(sha256(res.body), sha256(await fsp.readFile(path.join(root, 'Beside', 'Cover.JPG'))));
    const album = await request(port, `/api/albums/${library.store.track('Beside/b.mp3')!.albumId}/cover`);
    assert.equal(sha256(album.body), sha256(res.body), 'the album cover is its tracks’ cover');
  });

  test('none: the placeholder image; a folder image linked from outside the library is not served', async () => {
    for (const rel of ['None/b.mp3', 'Linked/b.mp3']) {
      const res = await request(port, `/api/tracks/${idOf(rel)}/cover`);
      assert.equal(res.status, 200, rel);
      assert.equal(res.headers['content-type'], 'image/svg+xml', rel);
      assert.match(res.body.toString(), /^<svg/, rel);
    }
    assert.equal((await request(port, '/api/tracks/99999/cover')).status, 404);
  });
});
