/**
 * A real client's requests replayed: stmp's start-up and first play (fixtures/stmp-startup.ts
 * names the source), exactly as it sends them (token login with a fresh salt, v=1.15.1,
 * c=stmp, f=json, paths without .view), against a real server with real accounts. Every
 * answer must be ok and valid for its OpenAPI schema; the stream must be the file's bytes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { fileBytes, WebHarness } from '../http/support/web-harness.js';
import { STMP_QUERY, STMP_STARTUP } from './fixtures/stmp-startup.js';
import { APP_PASSWORD, assertValidJson, md5, startSubsonicServer, subsonicClient, USER, type SubsonicServer } from './support/subsonic-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked by the schemas instead
type Item = any;

let server: SubsonicServer;
before(async () => {
  server = await startSubsonicServer(harness);
  // The user has a playlist with songs (so the client asks for it) and an empty one (so it does not).
  const client = subsonicClient(server, []) as unknown as Record<string, (p?: Record<string, unknown>) => Promise<Item>>;
  const songs = (await client.search3({ query: 'noise' })).searchResult3.song.map((s: Item) => s.id);
  await client.createPlaylist({ name: 'Noises', songId: songs });
  await client.createPlaylist({ name: 'Empty' });
});

test("stmp's start-up and first play, replayed request by request: every answer ok and schema-valid", { timeout: 60_000 }, async () => {
  const ids: Record<string, string> = {};
  const playlistsWithSongs: string[] = [];
  let asked = 0;
  for (const step of STMP_STARTUP) {
    // One request per playlist with songs, as GetPlaylists() does.
    const rounds: Record<string, string>[] = step.path === '/rest/getPlaylist' ? playlistsWithSongs.map((id) => ({ ...ids, playlist: id })) : [ids];
    for (const known of rounds) {
      const round = Object.entries(step.params).map(([key, value]) => [key, value.replace(/^\{(\w+)\}$/, (_, name: string) => known[name] ?? assert.fail(`no ${name} for ${step.path}`))]);
      const salt = randomBytes(6).toString('hex');
      const query = new URLSearchParams([['t', md5(APP_PASSWORD + salt)], ['s', salt], ['u', USER], ...Object.entries(STMP_QUERY), ...(round as [string, string][])]);
      const response = await fetch(`${server.base}${step.path}?${query}`);
      asked++;
      assert.equal(response.status, 200, `${step.path} (${step.source})`);
      const body = Buffer.from(await response.arrayBuffer());
      const endpoint = step.path.slice('/rest/'.length);
      if (endpoint === 'stream') {
        const track = server.library.current.entries.find((e) => e.path.endsWith('01 Sunrise.flac'))!;
        assert.match(response.headers.get('content-type') ?? '', /^audio\//);
        assert.equal(createHash('sha256').update(body).digest('hex'), createHash('sha256').update(await fileBytes(server.root, track.path)).digest('hex'));
        continue;
      }
      const answer = assertValidJson(endpoint, body.toString('utf8')) as Item;
      assert.equal(answer.status, 'ok', `${step.path}: ${body.toString('utf8').slice(0, 300)}`);
      if (endpoint === 'getIndexes') ids.artist = answer.indexes.index[0].artist[0].id;
      if (endpoint === 'getPlaylists') {
        for (const p of answer.playlists.playlist) if (p.songCount !== 0) playlistsWithSongs.push(p.id);
        assert.equal(playlistsWithSongs.length, 1, 'the empty playlist is not asked for');
      }
      if (endpoint === 'getPlaylist') assert.equal(answer.playlist.entry.length, 3);
      if (endpoint === 'getMusicDirectory' && !ids.folder) ids.folder = answer.directory.child.find((c: Item) => c.isDir).id;
      else if (endpoint === 'getMusicDirectory') ids.song = answer.directory.child.find((c: Item) => !c.isDir).id;
    }
  }
  assert.equal(asked, STMP_STARTUP.length);
  const played = assertValidJson('getSong', await (await fetch(`${server.base}/rest/getSong?${new URLSearchParams({ u: USER, p: 'correct horse battery', f: 'json', id: ids.song! })}`)).text()) as Item;
  assert.equal(played.song.playCount, 1, "stmp's scrobble counted one play");
});
