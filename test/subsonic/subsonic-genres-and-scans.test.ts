/**
 * Genres (getGenres, getSongsByGenre, getAlbumList2 byGenre), getRandomSongs and startScan,
 * on the sample library plus one file that ffmpeg tags with a genre. JSON answers validated
 * against the OpenAPI schemas, XML against the XSD.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebHarness } from '../http/support/web-harness.js';
import { assertValidJson, assertValidXml, rest, startSubsonicServer, TOKEN_AUTH, type SubsonicServer } from './support/subsonic-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

/** One call in JSON (schema-checked, returned) and in XML (XSD-checked). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the answer is validated by the schema before it is read
async function call(server: SubsonicServer, name: string, params: Record<string, string>): Promise<Record<string, any>> {
  const json = await rest(server, name, { ...TOKEN_AUTH(), ...params, f: 'json' });
  const envelope = assertValidJson(name, json.text);
  await assertValidXml(harness, (await rest(server, name, { ...TOKEN_AUTH(), ...params })).text);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  return envelope as Record<string, any>;
}

describe('Subsonic genres, random songs and scans', () => {
  let server: SubsonicServer;

  before(async () => {
    server = await startSubsonicServer(harness, {
      async prepare(root) {
        await fsp.mkdir(path.join(root, 'Genre Test'));
        execFileSync('ffmpeg', ['-v', 'error', '-i', path.join(root, 'Aurora Tones/First Light/01 Sunrise.flac'), '-metadata', 'title=Drone', '-metadata', 'artist=Tag Band', '-metadata', 'album=Tagged', '-metadata', 'genre=Ambient', '-c', 'copy', path.join(root, 'Genre Test/Drone.flac')]);
      },
    });
  });

  test('getGenres counts songs and albums; getSongsByGenre and getAlbumList2 byGenre find them, case ignored', async () => {
    const genres = await call(server, 'getGenres', {});
    assert.deepEqual(genres.genres.genre, [{ songCount: 1, albumCount: 1, value: 'Ambient' }]);
    const songs = await call(server, 'getSongsByGenre', { genre: 'ambient' });
    assert.deepEqual(songs.songsByGenre.song.map((s: { title: string }) => s.title), ['Drone']);
    assert.equal(songs.songsByGenre.song[0].genre, 'Ambient');
    assert.deepEqual((await call(server, 'getSongsByGenre', { genre: 'Ambient', offset: '1' })).songsByGenre.song ?? [], []);
    const albums = await call(server, 'getAlbumList2', { type: 'byGenre', genre: 'AMBIENT' });
    assert.deepEqual(albums.albumList2.album.map((a: { name: string }) => a.name), ['Tagged']);
    assert.equal((await call(server, 'getSongsByGenre', {})).error.code, 10);
  });

  test('getRandomSongs: distinct files, at most size, all of them when size is large; filtered by genre', async () => {
    const few = await call(server, 'getRandomSongs', { size: '3' });
    const ids = few.randomSongs.song.map((s: { id: string }) => s.id);
    assert.equal(new Set(ids).size, 3);
    const all = await call(server, 'getRandomSongs', { size: '500' });
    assert.equal(all.randomSongs.song.length, server.library.current.entries.length);
    const ambient = await call(server, 'getRandomSongs', { size: '10', genre: 'Ambient' });
    assert.deepEqual(ambient.randomSongs.song.map((s: { title: string }) => s.title), ['Drone']);
  });

  test('getScanStatus and startScan count the files without making an object per file (the library holds them packed)', async () => {
    const open = await startSubsonicServer(harness, { accounts: false });
    const index = open.library.current;
    // Shadows LibraryIndex's getter: asking for every entry as an object fails the call.
    Object.defineProperty(index, 'entries', { get: () => assert.fail('getScanStatus made every entry') });
    const status = JSON.parse((await rest(open, 'getScanStatus', { u: 'anyone', p: 'x', f: 'json' })).text)['subsonic-response'];
    assert.equal(status.scanStatus.count, index.size);
    const started = JSON.parse((await rest(open, 'startScan', { u: 'anyone', p: 'x', f: 'json' })).text)['subsonic-response'];
    assert.equal(started.scanStatus.count, index.size);
  });

  test('startScan needs an admin (error 50 for a listener); an admin starts one and getScanStatus reports it', async () => {
    assert.equal((await call(server, 'startScan', {})).error.code, 50);
    const open = await startSubsonicServer(harness, { accounts: false });
    const started = await rest(open, 'startScan', { u: 'anyone', p: 'x', f: 'json' });
    const status = assertValidJson('startScan', started.text) as { scanStatus: { scanning: boolean } };
    assert.equal(status.scanStatus.scanning, true);
    for (let i = 0; i < 100; i++) {
      const now = JSON.parse((await rest(open, 'getScanStatus', { u: 'anyone', p: 'x', f: 'json' })).text)['subsonic-response'];
      if (!now.scanStatus.scanning) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail('the scan did not finish in 5 s');
  });
});
