/**
 * User data through the real client library `subsonic-api` (token logins) against a real
 * server on the sample library: scrobble and now playing, stars, ratings, the user fields on
 * songs, albums and artists, playlists with their ownership, and the play queue. Every JSON
 * answer is validated against the OpenAPI schemas and the same request in XML against the XSD.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deriveScramCredential } from '../../src/protocol/index.js';
import { WebHarness } from '../http/support/web-harness.js';
import { assertValidJson, assertValidXml, rest, startSubsonicServer, subsonicClient, TOKEN_AUTH, type Recorded, type SubsonicServer } from './support/subsonic-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked by the schemas instead
type Item = any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the client's types describe successes only
type LooseClient = Record<string, (params?: Record<string, unknown>) => Promise<any>>;

const OTHER = 'second';
const OTHER_APP_PASSWORD = 'other-app-secret-99';

/** Every id a starred list holds, songs, albums then artists. */
function starredIds(list: Item): string[] {
  return [...(list.song ?? []), ...(list.album ?? []), ...(list.artist ?? [])].map((i: Item) => i.id);
}

/** The XSD types PlayQueue's `current` as xs:int, though every id in it is xs:string (and OpenSubsonic's is a string). */
function withoutQueueCurrent(xml: string): string {
  return xml.replace(/(<playQueue[^>]*?) current="[^"]*"/, '$1');
}

describe('Subsonic API: user data (subsonic-api client, token login)', () => {
  let server: SubsonicServer;
  let client: LooseClient;
  let other: LooseClient;
  const recorded: Recorded[] = [];
  const songs: Record<string, Item> = {};
  let xmlChecked = 0;

  /**
   * Every answer valid for its OpenAPI schema; and a reading call asked again at once in XML
   * (on the same data) must be valid for the XSD. Writes are not replayed: they would write twice.
   */
  async function checkAnswer(answer: Recorded): Promise<void> {
    assert.equal(answer.status, 200, answer.url.href);
    assertValidJson(answer.endpoint, answer.body.toString('utf8'));
    if (!/^get|^search/.test(answer.endpoint)) return;
    const params = Object.fromEntries([...answer.url.searchParams].filter(([key]) => !['f', 't', 's', 'u'].includes(key)));
    const auth = answer.url.searchParams.get('u') === OTHER ? { ...TOKEN_AUTH(), u: OTHER, t: md5Token(OTHER_APP_PASSWORD) } : TOKEN_AUTH();
    const xml = await rest(server, `${answer.endpoint}.view`, { ...params, ...auth });
    await assertValidXml(harness, answer.endpoint === 'getPlayQueue' ? withoutQueueCurrent(xml.text) : xml.text);
    xmlChecked++;
  }

  before(async () => {
    server = await startSubsonicServer(harness);
    await server.authenticator.store.add({ name: OTHER, role: 'listener', scram: deriveScramCredential('x-login-password', { iterations: 4096 }), appPassword: OTHER_APP_PASSWORD, created: new Date().toISOString() });
    client = subsonicClient(server, recorded, { onAnswer: checkAnswer }) as unknown as LooseClient;
    other = subsonicClient(server, recorded, { user: OTHER, password: OTHER_APP_PASSWORD, onAnswer: checkAnswer }) as unknown as LooseClient;
    const all = await client.search3({ query: '', songCount: 100, artistCount: 0, albumCount: 0 });
    for (const song of all.searchResult3.song) songs[song.title] = song;
    assert.ok(songs['Pink Noise'] && songs['Sunrise'] && songs['Morning Chord'], Object.keys(songs).join(', '));
  });

  test('scrobble: submission=false is now playing and counts nothing; submission=true counts a play and sets played', async () => {
    const pink = songs['Pink Noise'];
    assert.equal((await client.scrobble({ id: pink.id, submission: false })).status, 'ok');
    const playing = await client.getNowPlaying();
    assert.equal(playing.nowPlaying.entry.length, 1);
    assert.equal(playing.nowPlaying.entry[0].id, pink.id);
    assert.equal(playing.nowPlaying.entry[0].username, 'listener');
    assert.equal(playing.nowPlaying.entry[0].playerName, 'subsonic-api');
    assert.equal(playing.nowPlaying.entry[0].minutesAgo, 0);
    let song = (await client.getSong({ id: pink.id })).song;
    assert.equal(song.playCount, undefined, 'now playing is not a play');
    assert.equal(song.played, undefined);

    const before = Date.now();
    await client.scrobble({ id: pink.id });
    await client.scrobble({ id: pink.id, submission: true, time: Date.parse('2026-01-02T03:04:05.000Z') });
    song = (await client.getSong({ id: pink.id })).song;
    assert.equal(song.playCount, 2);
    assert.ok(Date.parse(song.played) >= before - 1000, `played ${song.played} is the newest play`);
    assert.equal((await client.getNowPlaying()).nowPlaying.entry.length, 0, 'the submitted play ends its now playing');
    const album = (await client.getAlbum({ id: pink.albumId })).album;
    assert.equal(album.playCount, 2, 'an album counts its files\' plays');
    assert.equal((await other.getSong({ id: pink.id })).song.playCount, undefined, 'plays are per user');

    const frequent = await client.getAlbumList2({ type: 'frequent' });
    assert.deepEqual(frequent.albumList2.album.map((a: Item) => a.id), [pink.albumId]);
    const recent = await client.getAlbumList({ type: 'recent' });
    assert.deepEqual(recent.albumList.album.map((a: Item) => a.id), [pink.albumId]);
    assert.deepEqual((await other.getAlbumList2({ type: 'frequent' })).albumList2.album ?? [], []);

    const unknown = await client.scrobble({ id: 'tr-999999' });
    assert.equal(unknown.error.code, 70);
    assert.equal((await client.scrobble({})).error.code, 10);
  });

  test('star / unstar by id, albumId and artistId; getStarred and getStarred2; starred shown on songs, albums and artists', async () => {
    const sunrise = songs['Sunrise'];
    const t0 = Date.now();
    assert.equal((await client.star({ id: sunrise.id, albumId: sunrise.albumId, artistId: sunrise.artistId })).status, 'ok');
    const starred2 = (await client.getStarred2()).starred2;
    assert.deepEqual(starred2.song.map((s: Item) => s.id), [sunrise.id]);
    assert.deepEqual(starred2.album.map((a: Item) => a.id), [sunrise.albumId]);
    assert.deepEqual(starred2.artist.map((a: Item) => a.id), [sunrise.artistId]);
    assert.ok(starred2.song[0].starred instanceof Date && starred2.song[0].starred.getTime() >= t0 - 1000);
    const starred = (await client.getStarred()).starred;
    assert.equal(starred.album[0].isDir, true, 'getStarred lists albums as directories');
    assert.equal(starred.artist[0].name, 'Aurora Tones');
    assert.ok((await client.getSong({ id: sunrise.id })).song.starred);
    assert.ok((await client.getAlbum({ id: sunrise.albumId })).album.starred);
    assert.ok((await client.getArtist({ id: sunrise.artistId })).artist.starred);
    assert.ok((await client.search3({ query: 'sunrise' })).searchResult3.song[0].starred);
    const artistEntry = (await client.getArtists()).artists.index.flatMap((i: Item) => i.artist).find((a: Item) => a.id === sunrise.artistId);
    assert.ok(artistEntry.starred, 'getArtists shows the artist starred');
    assert.deepEqual((await client.getAlbumList2({ type: 'starred' })).albumList2.album.map((a: Item) => a.id), [sunrise.albumId]);
    assert.deepEqual(starredIds((await other.getStarred2()).starred2), [], 'stars are per user');

    // Starring again keeps the first time.
    const first = (await client.getSong({ id: sunrise.id })).song.starred.getTime();
    await new Promise((r) => setTimeout(r, 5));
    await client.star({ id: sunrise.id });
    assert.equal((await client.getSong({ id: sunrise.id })).song.starred.getTime(), first);

    await client.unstar({ id: sunrise.id, albumId: sunrise.albumId });
    const after = (await client.getStarred2()).starred2;
    assert.deepEqual(starredIds(after), [sunrise.artistId]);
    assert.equal((await client.getSong({ id: sunrise.id })).song.starred, undefined);
    await client.unstar({ artistId: sunrise.artistId });
    assert.deepEqual(starredIds((await client.getStarred2()).starred2), []);

    assert.equal((await client.star({ id: 'al-999999' })).error.code, 70, 'an unknown id stars nothing');
    assert.equal((await client.star({ id: sunrise.id, albumId: 'tr-1' })).error.code, 70, 'albumId must be an album');
    assert.deepEqual(starredIds((await client.getStarred2()).starred2), [], 'a failed call wrote nothing');
    assert.equal((await client.star({})).error.code, 10);
  });

  test('folders (fo- ids, as folder-based apps such as stmp star them): star, unstar and setRating; shown in getIndexes, getMusicDirectory and getStarred (not getStarred2)', async () => {
    const top = (await client.getIndexes()).indexes.index.flatMap((i: Item) => i.artist);
    assert.ok(top.length > 0);
    const folder = top[0];
    assert.match(folder.id, /^fo-/);
    const inside = (await client.getMusicDirectory({ id: folder.id })).directory;
    const sub = inside.child.find((c: Item) => c.isDir);
    assert.ok(sub, 'the sample library has a folder inside a folder');

    assert.equal((await client.star({ id: folder.id })).status, 'ok');
    await client.star({ id: sub.id });
    assert.equal((await client.setRating({ id: sub.id, rating: 3 })).status, 'ok');
    const indexed = (await client.getIndexes()).indexes.index.flatMap((i: Item) => i.artist).find((a: Item) => a.id === folder.id);
    assert.ok(indexed.starred, 'getIndexes shows the folder starred');
    const listed = (await client.getMusicDirectory({ id: folder.id })).directory;
    assert.ok(listed.starred, 'the folder itself, as a directory');
    const child = listed.child.find((c: Item) => c.id === sub.id);
    assert.ok(child.starred && child.userRating === 3, 'the subfolder among its parent\'s children');
    assert.equal((await client.getMusicDirectory({ id: sub.id })).directory.userRating, 3);
    const starred = (await client.getStarred()).starred;
    const folders = (starred.album ?? []).filter((a: Item) => a.id.startsWith('fo-'));
    assert.deepEqual(new Set(folders.map((a: Item) => a.id)), new Set([folder.id, sub.id]));
    for (const f of folders) assert.equal(f.isDir, true);
    assert.equal(folders.find((f: Item) => f.id === sub.id).parent, folder.id);
    assert.equal(folders.find((f: Item) => f.id === sub.id).title, sub.title);
    assert.deepEqual(((await client.getStarred2()).starred2.album ?? []).filter((a: Item) => a.id.startsWith('fo-')), [], 'getStarred2 is by tags');
    assert.deepEqual(((await other.getStarred()).starred.album ?? []).filter((a: Item) => a.id.startsWith('fo-')), [], 'per user');

    await client.unstar({ id: folder.id });
    await client.unstar({ id: sub.id });
    await client.setRating({ id: sub.id, rating: 0 });
    assert.equal((await client.getMusicDirectory({ id: folder.id })).directory.starred, undefined);
    assert.deepEqual(((await client.getStarred()).starred.album ?? []).filter((a: Item) => a.id.startsWith('fo-')), []);

    const missing = `fo-${Buffer.from('no such folder').toString('base64url')}`;
    assert.equal((await client.star({ id: missing })).error.code, 70, 'a folder the library lacks');
    assert.equal((await client.star({ id: '1' })).error.code, 70, 'the music folder itself is not an item');
    assert.equal((await client.star({ albumId: folder.id })).error.code, 70, 'albumId must be an album');
    assert.equal((await client.setRating({ id: missing, rating: 2 })).error.code, 70);
  });

  test('setRating 1-5 shows as userRating on songs and albums; 0 removes it; out of range is refused', async () => {
    const chord = songs['Morning Chord'];
    await client.setRating({ id: chord.id, rating: 4 });
    await client.setRating({ id: chord.albumId, rating: 5 });
    assert.equal((await client.getSong({ id: chord.id })).song.userRating, 4);
    assert.equal((await client.getAlbum({ id: chord.albumId })).album.userRating, 5);
    const listed = (await client.getMusicDirectory({ id: chord.albumId })).directory;
    assert.equal(listed.userRating, 5, 'the album as a directory');
    assert.equal(listed.child.find((c: Item) => c.id === chord.id).userRating, 4);
    assert.deepEqual((await client.getAlbumList2({ type: 'highest' })).albumList2.album.map((a: Item) => a.id), [chord.albumId]);
    await client.setRating({ id: chord.id, rating: 0 });
    assert.equal((await client.getSong({ id: chord.id })).song.userRating, undefined);
    for (const rating of ['6', '-1', 'x', '2.5']) assert.equal((await client.setRating({ id: chord.id, rating })).error.code, 0, rating);
    assert.equal((await client.setRating({ id: chord.id })).error.code, 10);
    assert.equal((await client.setRating({ id: 'tr-999999', rating: 3 })).error.code, 70);
    await client.setRating({ id: chord.albumId, rating: 0 });
  });

  test('playlists: create, read, update (add, remove by index, name, comment, public), replace, delete; only the owner changes one', async () => {
    const ids = [songs['Pink Noise'].id, songs['Sunrise'].id, songs['Morning Chord'].id];
    const made = (await client.createPlaylist({ name: 'Mix', songId: ids })).playlist;
    assert.match(made.id, /^pl-\d+$/);
    assert.equal(made.name, 'Mix');
    assert.equal(made.owner, 'listener');
    assert.equal(made.public, false);
    assert.equal(made.songCount, 3);
    assert.deepEqual(made.entry.map((e: Item) => e.id), ids);
    assert.ok(made.duration > 0);

    assert.deepEqual((await client.getPlaylists()).playlists.playlist.map((p: Item) => p.id), [made.id]);
    assert.deepEqual((await other.getPlaylists()).playlists.playlist ?? [], [], 'a private playlist is its owner\'s');
    assert.equal((await other.getPlaylist({ id: made.id })).error.code, 70);

    await client.updatePlaylist({ playlistId: made.id, name: 'Morning mix', comment: 'for the train', public: true, songIdToAdd: [songs['Pink Noise'].id], songIndexToRemove: [0] });
    let got = (await client.getPlaylist({ id: made.id })).playlist;
    assert.equal(got.name, 'Morning mix');
    assert.equal(got.comment, 'for the train');
    assert.equal(got.public, true);
    assert.deepEqual(got.entry.map((e: Item) => e.id), [ids[1], ids[2], ids[0]]);
    assert.ok(got.changed.getTime() >= got.created.getTime());

    // Public: the other user reads it but may not change or delete it.
    assert.equal((await other.getPlaylist({ id: made.id })).playlist.songCount, 3);
    assert.deepEqual((await other.getPlaylists()).playlists.playlist.map((p: Item) => p.id), [made.id]);
    assert.equal((await other.updatePlaylist({ playlistId: made.id, name: 'mine now' })).error.code, 50);
    assert.equal((await other.deletePlaylist({ id: made.id })).error.code, 50);
    assert.equal((await other.createPlaylist({ playlistId: made.id, songId: [ids[0]] })).error.code, 50);
    assert.equal((await client.getPlaylist({ id: made.id })).playlist.name, 'Morning mix', 'nothing changed');
    assert.equal((await client.getPlaylists({ username: OTHER })).error.code, 50, 'only an admin lists another user\'s playlists');

    // createPlaylist with playlistId replaces the songs.
    const replaced = (await client.createPlaylist({ playlistId: made.id, songId: [ids[2]] })).playlist;
    assert.equal(replaced.id, made.id);
    assert.deepEqual(replaced.entry.map((e: Item) => e.id), [ids[2]]);
    assert.equal(replaced.name, 'Morning mix');

    assert.equal((await client.updatePlaylist({ playlistId: made.id, songIndexToRemove: [5] })).error.code, 0, 'an index past the end is refused');
    assert.equal((await client.createPlaylist({ name: 'bad', songId: ['tr-999999'] })).error.code, 70);
    assert.equal((await client.createPlaylist({})).error.code, 10);
    assert.equal((await client.getPlaylist({ id: 'pl-999999' })).error.code, 70);

    const empty = (await client.createPlaylist({ name: 'Empty' })).playlist;
    assert.equal(empty.songCount, 0);
    assert.equal((await client.deletePlaylist({ id: empty.id })).status, 'ok');
    assert.equal((await client.getPlaylist({ id: empty.id })).error.code, 70);
    got = (await client.getPlaylist({ id: made.id })).playlist;
    assert.equal(got.songCount, 1);
  });

  test('savePlayQueue / getPlayQueue: entries, current, position, changedBy; empty clears it', async () => {
    const ids = [songs['Sunrise'].id, songs['Morning Chord'].id];
    assert.equal((await client.getPlayQueue()).playQueue.entry, undefined, 'no queue saved yet');
    await client.savePlayQueue({ id: ids, current: ids[1], position: 12345 });
    const queue = (await client.getPlayQueue()).playQueue;
    assert.deepEqual(queue.entry.map((e: Item) => e.id), ids);
    assert.equal(queue.current, ids[1]);
    assert.equal(queue.position, 12345);
    assert.equal(queue.username, 'listener');
    assert.equal(queue.changedBy, 'subsonic-api');
    assert.equal((await other.getPlayQueue()).playQueue.entry, undefined, 'queues are per user');
    assert.equal((await client.savePlayQueue({ id: ids, current: songs['Pink Noise'].id })).error.code, 0, 'current must be in the queue');
    assert.equal((await client.savePlayQueue({ id: ['tr-999999'] })).error.code, 70);
    assert.deepEqual((await client.getPlayQueue()).playQueue.entry.map((e: Item) => e.id), ids, 'a refused save kept the queue');
  });

  test('a file removed from the library disappears from playlists, the queue and starred lists without breaking them', async () => {
    const ids = [songs['Sunrise'].id, songs['Noon Hum'].id, songs['Morning Chord'].id];
    const list = (await client.createPlaylist({ name: 'Lossy', songId: ids })).playlist;
    await client.star({ id: songs['Noon Hum'].id });
    await client.savePlayQueue({ id: ids, current: ids[1] });
    await fsp.rm(path.join(server.root, 'Aurora Tones/First Light/03 Noon Hum.wav'));
    await server.library.rescan();
    const got = (await client.getPlaylist({ id: list.id })).playlist;
    assert.deepEqual(got.entry.map((e: Item) => e.id), [ids[0], ids[2]]);
    assert.equal(got.songCount, 2);
    // Indexes follow what the client sees: 1 is Morning Chord now.
    await client.updatePlaylist({ playlistId: list.id, songIndexToRemove: [1] });
    assert.deepEqual((await client.getPlaylist({ id: list.id })).playlist.entry.map((e: Item) => e.id), [ids[0]]);
    assert.deepEqual((await client.getStarred2()).starred2.song ?? [], []);
    const queue = (await client.getPlayQueue()).playQueue;
    assert.deepEqual(queue.entry.map((e: Item) => e.id), [ids[0], ids[2]]);
    assert.equal(queue.current, undefined, 'the current file is gone');
    assert.equal((await client.getSong({ id: ids[1] })).error.code, 70);
  });

  test('every answer above was checked: JSON against the OpenAPI schemas, reads in XML against the XSD', () => {
    assert.ok(recorded.length > 60, `${recorded.length} answers recorded`);
    assert.ok(xmlChecked > 40, `${xmlChecked} XML answers validated`);
  });
});

import { createHash } from 'node:crypto';
function md5Token(password: string): string {
  return createHash('md5').update(password + TOKEN_AUTH().s!, 'utf8').digest('hex');
}
