/**
 * The JSON API end to end, against a real server on the sample library (real tags read by
 * the library's workers into a real SQLite file): artists → albums → tracks, folders, search
 * as you type, one file's details, paging.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Library } from '../../src/library/index.js';
import { WebHarness, request } from './support/web-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

describe('JSON API', () => {
  let library: Library;
  let port: number;
  const get = async (url: string): Promise<any> => {
    const res = await request(port, url);
    assert.equal(res.status, 200, `${url}: ${res.body}`);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    return JSON.parse(res.body.toString());
  };

  before(async () => {
    library = await harness.openLibrary(await harness.sampleLibrary());
    ({ port } = await harness.start(library));
  });

  test('artists: album artists in name order (case ignored), with album counts, paged', async () => {
    const all = await get('/api/artists');
    assert.deepEqual(all.items.map((a: { name: string }) => a.name), ['Aurora Tones', 'The Testers', 'Various Artists', 'Émilie Ölund']);
    assert.equal(all.total, 4);
    const second = await get('/api/artists?offset=1&limit=2');
    assert.deepEqual(second.items.map((a: { name: string }) => a.name), ['The Testers', 'Various Artists']);
    assert.equal(second.offset, 1);
    assert.equal(second.total, 4);
  });

  test('an artist and its albums; an album and its tracks in disc and track order', async () => {
    const artists = await get('/api/artists');
    const various = artists.items.find((a: { name: string }) => a.name === 'Various Artists');
    const { artist, albums } = await get(`/api/artists/${various.id}`);
    assert.equal(artist.name, 'Various Artists');
    assert.deepEqual(albums.items.map((a: { name: string }) => a.name), ['Noise Études']);
    const { album, tracks } = await get(`/api/albums/${albums.items[0].id}`);
    assert.equal(album.artist, 'Various Artists');
    assert.equal(album.tracks, 3);
    assert.deepEqual(tracks.map((t: { track: number }) => t.track), [1, 2, 3]);
    assert.deepEqual(tracks.map((t: { path: string }) => t.path.split('/').pop()), ['01 Pink Noise.flac', '02 Brown Noise.MP3', '03 White Noise.ogg']);
    assert.ok(tracks.every((t: { albumId: number }) => t.albumId === album.id));
  });

  test('albums: every album with its artist, paged', async () => {
    const albums = await get('/api/albums?limit=500');
    assert.deepEqual(albums.items.map((a: { name: string }) => a.name), ['First Light', 'Singles', 'Noise Études', 'Café Noir']);
    const page = await get('/api/albums?offset=3&limit=1');
    assert.deepEqual(page.items.map((a: { name: string }) => a.name), ['Café Noir']);
    assert.equal(page.total, 4);
  });

  test('folders: the top, a folder, a nested folder; an unknown one is 404', async () => {
    const top = await get('/api/folders');
    assert.deepEqual(top.folders, ['Aurora Tones', 'Singles', 'Various Artists', 'Émilie Ölund']);
    assert.deepEqual(top.tracks, []);
    const singles = await get('/api/folders?path=Singles');
    assert.deepEqual(singles.folders, []);
    assert.deepEqual(singles.tracks.map((t: { title: string }) => t.title), ["Don't Panic", 'Short Beep']);
    const disc = await get(`/api/folders?path=${encodeURIComponent('Various Artists/Noise Études')}`);
    assert.deepEqual(disc.folders, ['Disc 1']);
    assert.equal((await request(port, '/api/folders?path=Nope')).status, 404);
    assert.equal((await request(port, '/api/folders?path=Singl')).status, 404, 'a prefix of a name is not a folder');
  });

  test('search as you type: case and accents ignored, every word must match, paged with a total', async () => {
    const titles = async (q: string): Promise<string[]> => (await get(`/api/search?q=${encodeURIComponent(q)}`)).items.map((t: { title: string }) => t.title);
    assert.deepEqual(await titles('cafe'), ['Café Noir', 'Crème Brûlée']);
    assert.deepEqual(await titles('CAFÉ'), ['Café Noir', 'Crème Brûlée']);
    assert.deepEqual(await titles('emilie creme'), ['Crème Brûlée']);
    assert.deepEqual(await titles('ETUDES pink'), ['Pink Noise']);
    assert.deepEqual(await titles('noise'), ['Pink Noise', 'Brown Noise', 'White Noise']);
    assert.deepEqual(await titles('   '), []);
    assert.deepEqual(await titles('%'), [], 'no wildcard characters');
    const page = await get('/api/search?q=noise&offset=1&limit=1');
    assert.deepEqual(page.items.map((t: { title: string }) => t.title), ['Brown Noise']);
    assert.equal(page.total, 3);
    assert.equal((await request(port, `/api/search?q=${'x'.repeat(300)}`)).status, 400);
    assert.equal((await request(port, '/api/search?q=a&limit=-1')).status, 400);
    assert.equal((await request(port, '/api/search?q=a&offset=1e3')).status, 400);
  });

  test('search sees a file added by a rescan (its index follows the database)', async () => {
    assert.deepEqual((await get('/api/search?q=sunrise')).items.length, 1);
    const { promises: fsp } = await import('node:fs');
    const src = `${library.root}/Aurora Tones/First Light/01 Sunrise.flac`;
    await fsp.copyFile(src, `${library.root}/Singles/Sunrise again.flac`);
    await library.rescan();
    await library.tagsSettled();
    assert.deepEqual((await get('/api/search?q=sunrise')).items.length, 2);
  });

  test("one file's details: tags, format, size; unknown ids 404", async () => {
    const id = library.store.track('Aurora Tones/First Light/01 Sunrise.flac')!.id;
    const t = await get(`/api/tracks/${id}`);
    assert.equal(t.id, id);
    assert.equal(t.title, 'Sunrise');
    assert.equal(t.artist, 'Aurora Tones');
    assert.equal(t.album, 'First Light');
    assert.equal(t.track, 1);
    assert.equal(typeof t.duration, 'number');
    assert.equal(t.codec, 'FLAC');
    assert.equal(typeof t.size, 'number');
    for (const url of ['/api/tracks/99999', '/api/albums/99999', '/api/artists/99999']) {
      const res = await request(port, url);
      assert.equal(res.status, 404, url);
      assert.equal(JSON.parse(res.body.toString()).error.code, 'NOT_FOUND');
    }
  });
});
