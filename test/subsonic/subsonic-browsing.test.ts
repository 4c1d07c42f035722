/**
 * End to end with the real client library `subsonic-api` (token logins, as apps do) against a
 * real server on the sample library: system, browsing, album lists and search. Every JSON
 * answer is validated against the OpenSubsonic OpenAPI schemas, and every request is then
 * replayed without f=json and its XML validated against the Subsonic XSD.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebHarness } from '../http/support/web-harness.js';
import { assertValidJson, assertValidXml, rest, startSubsonicServer, subsonicClient, TOKEN_AUTH, type Recorded, type SubsonicServer } from './support/subsonic-harness.js';

const harness = new WebHarness();

/**
 * The client's types describe successful answers only; these tests read failures too, so
 * calls go through this loose view of the same client object.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked by the schemas instead
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- one item of an answer, read loosely for the same reason
type Item = any;
type LooseClient = Record<string, (params?: Record<string, unknown>) => Promise<any>>;
after(() => harness.cleanup());

/** Endpoints answered in the envelope but absent from the XSD (OpenSubsonic additions). */
const NOT_IN_XSD = new Set(['getOpenSubsonicExtensions']);

describe('Subsonic API: system, browsing, lists and search (subsonic-api client, token login)', () => {
  let server: SubsonicServer;
  let client: LooseClient;
  const recorded: Recorded[] = [];

  before(async () => {
    server = await startSubsonicServer(harness);
    client = subsonicClient(server, recorded) as unknown as LooseClient;
  });

  test('system: ping, getLicense, getOpenSubsonicExtensions (formPost, apiKeyAuthentication, songLyrics), getScanStatus; the envelope says audiostream, 1.16.1, openSubsonic', async () => {
    const ping = await client.ping();
    assert.equal(ping.status, 'ok');
    assert.equal(ping.version, '1.16.1');
    assert.equal(ping.type, 'audiostream');
    assert.equal(ping.openSubsonic, true);
    assert.match(ping.serverVersion ?? '', /^\d+\.\d+\.\d+/);
    assert.equal((await client.getLicense()).license.valid, true);
    const extensions = await client.getOpenSubsonicExtensions();
    assert.deepEqual(extensions.openSubsonicExtensions, [{ name: 'formPost', versions: [1] }, { name: 'apiKeyAuthentication', versions: [1] }, { name: 'songLyrics', versions: [1] }]);
    const scan = await client.getScanStatus();
    assert.equal(scan.scanStatus.scanning, false);
    assert.equal(scan.scanStatus.count, server.library.current.entries.length);
  });

  test('getMusicFolders, getIndexes and getMusicDirectory browse the real folders down to the files', async () => {
    const folders = await client.getMusicFolders();
    assert.deepEqual(folders.musicFolders.musicFolder, [{ id: 1, name: 'Music' }]);
    const indexes = await client.getIndexes({});
    const topNames = (indexes.indexes.index ?? []).flatMap((i: Item) => i.artist.map((a: Item) => a.name));
    assert.deepEqual(topNames.sort(), ['Aurora Tones', 'Singles', 'Various Artists', 'Émilie Ölund'].sort());
    const various = indexes.indexes.index!.flatMap((i: Item) => i.artist).find((a: Item) => a.name === 'Various Artists')!;
    const level1 = await client.getMusicDirectory({ id: various.id });
    assert.equal(level1.directory.name, 'Various Artists');
    assert.equal(level1.directory.parent, '1');
    const album = level1.directory.child!.find((c: Item) => c.title === 'Noise Études')!;
    assert.equal(album.isDir, true);
    const disc = (await client.getMusicDirectory({ id: album.id })).directory.child!.find((c: Item) => c.title === 'Disc 1')!;
    const files = (await client.getMusicDirectory({ id: disc.id })).directory.child!;
    assert.deepEqual(files.map((f: Item) => f.path), ['Various Artists/Noise Études/Disc 1/01 Pink Noise.flac', 'Various Artists/Noise Études/Disc 1/02 Brown Noise.MP3', 'Various Artists/Noise Études/Disc 1/03 White Noise.ogg']);
    assert.ok(files.every((f: Item) => f.isDir === false && f.parent === disc.id && /^tr-\d+$/.test(f.id)));
    const root = await client.getMusicDirectory({ id: '1' });
    assert.ok(root.directory.child!.some((c: Item) => c.title === 'Singles' && c.isDir));
  });

  test('getArtists → getArtist → getAlbum → getSong follow the tags, with stable database ids', async () => {
    const artists = await client.getArtists({});
    const all = (artists.artists.index ?? []).flatMap((i: Item) => i.artist);
    assert.deepEqual(all.map((a: { name: string }) => a.name).sort(), ['Aurora Tones', 'The Testers', 'Various Artists', 'Émilie Ölund'].sort());
    const emilie = all.find((a: Item) => a.name === 'Émilie Ölund')!;
    assert.equal((artists.artists.index ?? []).find((i: Item) => i.artist.includes(emilie))!.name, 'E', 'accents folded for the index letter');
    const testers = (artists.artists.index ?? []).find((i: Item) => i.artist.some((a: Item) => a.name === 'The Testers'))!;
    assert.equal(testers.name, 'T', '"The Testers" sorts under T once the article is ignored: Testers');
    const artist = await client.getArtist({ id: emilie.id });
    assert.equal(artist.artist.album!.length, 1);
    const album = await client.getAlbum({ id: artist.artist.album![0]!.id });
    assert.equal(album.album.name, 'Café Noir');
    assert.equal(album.album.songCount, album.album.song!.length);
    const song = album.album.song![0]!;
    const again = await client.getSong({ id: song.id });
    assert.equal(again.song.path, song.path);
    assert.equal(again.song.id, `tr-${server.library.store.track(song.path!)!.id}`);
  });

  test('getAlbumList2 and getAlbumList: every type answers; alphabetical orders, paging and byYear are right', async () => {
    for (const type of ['random', 'newest', 'alphabeticalByName', 'alphabeticalByArtist', 'frequent', 'recent', 'starred', 'highest'] as const) {
      const list = await client.getAlbumList2({ type, size: 50 });
      assert.equal(list.status, 'ok', type);
      const albums = list.albumList2.album ?? [];
      if (['frequent', 'recent', 'starred', 'highest'].includes(type)) assert.equal(albums.length, 0, `${type}: no plays or stars recorded`);
      else assert.equal(albums.length, 4, type);
      const old = await client.getAlbumList({ type, size: 50 });
      assert.equal((old.albumList.album ?? []).length, albums.length, type);
    }
    const byName = (await client.getAlbumList2({ type: 'alphabeticalByName', size: 50 })).albumList2.album!.map((a: Item) => a.name);
    assert.deepEqual(byName, ['Café Noir', 'First Light', 'Noise Études', 'Singles']);
    const page2 = (await client.getAlbumList2({ type: 'alphabeticalByName', size: 2, offset: 2 })).albumList2.album!.map((a: Item) => a.name);
    assert.deepEqual(page2, ['Noise Études', 'Singles']);
    const byArtist = (await client.getAlbumList2({ type: 'alphabeticalByArtist', size: 50 })).albumList2.album!.map((a: Item) => a.artist);
    // SQLite's NOCASE folds ASCII only: a name starting with an accented letter sorts last.
    assert.deepEqual(byArtist, ['Aurora Tones', 'The Testers', 'Various Artists', 'Émilie Ölund']);
    const years = (await client.getAlbumList2({ type: 'byYear', fromYear: 0, toYear: 3000, size: 50 })).albumList2.album!;
    assert.ok(years.every((a: Item, i: number) => i === 0 || (a.year ?? 0) >= (years[i - 1]!.year ?? 0)));
    const missing = await client.getAlbumList2({ type: 'byYear', size: 5 });
    assert.equal(missing.status, 'failed');
    assert.equal(missing.error?.code, 10);
    const genre = await client.getAlbumList2({ type: 'byGenre', genre: 'Nothing Like This', size: 5 });
    assert.deepEqual(genre.albumList2.album ?? [], []);
    const unknown = await client.getAlbumList2({ type: 'sideways' });
    assert.equal(unknown.error?.code, 0);
  });

  test('search3 and search2: words match across fields; an empty query returns everything, paged', async () => {
    const cafe = await client.search3({ query: 'emilie cafe' });
    assert.deepEqual(cafe.searchResult3.album!.map((a: Item) => a.name), ['Café Noir']);
    assert.equal(cafe.searchResult3.song!.length, 2);
    assert.deepEqual(cafe.searchResult3.artist ?? [], [], 'no artist name holds both words');
    assert.deepEqual((await client.search3({ query: 'EMILIE' })).searchResult3.artist!.map((a: Item) => a.name), ['Émilie Ölund']);
    const total = server.library.current.entries.length;
    const seen = new Set<string>();
    for (let offset = 0; offset < total + 3; offset += 3) {
      const page = await client.search3({ query: '', songCount: 3, songOffset: offset, artistCount: 0, albumCount: 0 });
      for (const song of page.searchResult3.song ?? []) seen.add(song.id);
      assert.deepEqual(page.searchResult3.artist ?? [], []);
    }
    assert.equal(seen.size, total, 'paging an empty query visits every file once');
    const quoted = await client.search3({ query: '""', songCount: 500 });
    assert.equal(quoted.searchResult3.song!.length, total);
    const old = await client.search2({ query: 'noise' });
    assert.deepEqual(old.searchResult2.album!.map((a: Item) => a.title), ['Noise Études']);
    assert.equal(old.searchResult2.song!.length, 3);
  });

  test('getGenres answers (the sample library has no genre tags); not-found ids are error 70', async () => {
    assert.deepEqual((await client.getGenres()).genres.genre ?? [], []);
    for (const [call, id] of [
      [() => client.getAlbum({ id: 'al-999999' }), 'al-999999'],
      [() => client.getArtist({ id: 'tr-1' }), 'tr-1'],
      [() => client.getSong({ id: 'garbage' }), 'garbage'],
      [() => client.getMusicDirectory({ id: 'fo-bm8' }), 'fo-bm8'],
    ] as const) {
      const answer = (await call()) as { status: string; error?: { code: number } };
      assert.equal(answer.status, 'failed', id);
      assert.equal(answer.error?.code, 70, id);
    }
  });

  test('every JSON answer above is valid for the OpenAPI schema, and the same request in XML for the XSD', async () => {
    assert.ok(recorded.length > 30, `${recorded.length} answers recorded`);
    for (const answer of recorded) {
      assert.equal(answer.status, 200, answer.url.href);
      assert.match(answer.contentType, /^application\/json/);
      assertValidJson(answer.endpoint, answer.body.toString('utf8'));
      if (NOT_IN_XSD.has(answer.endpoint)) continue;
      const params = Object.fromEntries([...answer.url.searchParams].filter(([key]) => key !== 'f' && key !== 't' && key !== 's' && key !== 'u'));
      const xml = await rest(server, `${answer.endpoint}.view`, { ...params, ...TOKEN_AUTH() });
      assert.match(xml.contentType, /^text\/xml/);
      await assertValidXml(harness, xml.text);
    }
  });

  test('formPost: the same calls by POST form answer the same', async () => {
    const posted: Recorded[] = [];
    const postClient = subsonicClient(server, posted, { post: true }) as unknown as LooseClient;
    const viaPost = await postClient.getAlbumList2({ type: 'alphabeticalByName', size: 2 });
    const viaGet = await client.getAlbumList2({ type: 'alphabeticalByName', size: 2 });
    assert.deepEqual(viaPost.albumList2, viaGet.albumList2);
    assert.equal((await postClient.search3({ query: 'pink' })).searchResult3.song!.length, 1);
    for (const answer of posted) assertValidJson(answer.endpoint, answer.body.toString('utf8'));
  });

  test('an unknown endpoint is error 0 "not implemented" in the envelope, in XML and JSON, never HTML', async () => {
    const json = await rest(server, 'getPodcasts.view', { ...TOKEN_AUTH(), f: 'json' });
    assert.equal(json.status, 200);
    const envelope = assertValidJson('ping', json.text) as { status: string; error: { code: number; message: string } };
    assert.equal(envelope.status, 'failed');
    assert.equal(envelope.error.code, 0);
    assert.match(envelope.error.message, /not implemented/);
    const xml = await rest(server, 'no/such/thing', TOKEN_AUTH());
    assert.equal(xml.status, 200);
    assert.match(xml.text, /<error code="0" message="not implemented: no\/such\/thing"\/>/);
    await assertValidXml(harness, xml.text);
  });
});
