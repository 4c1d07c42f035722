/**
 * User data survives a restart: the real as-server program (bin/as-server) with an account
 * made by `as-server user add --app-password`, driven by the real `subsonic-api` client, is
 * stopped and started again on the same data directory; stars, ratings, plays, playlists and
 * the play queue are all still there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { SubsonicAPI } from 'subsonic-api';
import { REPO_ROOT, SAMPLE_LIBRARY } from '../client/support/paths.js';
import { ServerProcess, freePort } from '../library/support/server-process.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers read loosely; the schemas are checked elsewhere
type Loose = Record<string, (params?: Record<string, unknown>) => Promise<any>>;

const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'as-subsonic-restart-'));
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop().catch(() => {});
  await fsp.rm(scratch, { recursive: true, force: true });
});

async function start(data: string): Promise<{ server: ServerProcess; port: number }> {
  const port = await freePort();
  const server = await ServerProcess.start(SAMPLE_LIBRARY, data, '--http-port', String(port));
  servers.push(server);
  await server.waitForLog(new RegExp(`web player on http://127\\.0\\.0\\.1:${port}/`));
  return { server, port };
}

test('stars, ratings, plays, playlists and the play queue survive a restart of as-server on the same data directory', { timeout: 90_000 }, async () => {
  const data = path.join(scratch, 'data');
  const made = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'as-server'), 'user', 'add', 'ann', '--app-password', '-l', SAMPLE_LIBRARY, '--data', data], { input: 'login-pass-1\n', encoding: 'utf8', timeout: 20_000 });
  assert.equal(made.status, 0, made.stderr);
  const appPassword = /app password for ann \(for Subsonic apps; shown once\): (\S+)/.exec(made.stdout)?.[1];
  assert.ok(appPassword, made.stdout);
  const clientOn = (port: number): Loose => new SubsonicAPI({ url: `http://127.0.0.1:${port}`, auth: { username: 'ann', password: appPassword } }) as unknown as Loose;

  let { server, port } = await start(data);
  let client = clientOn(port);
  // Tags are read in the background after the first scan: wait until every file has its album.
  type Song = { id: string; albumId?: string; path: string };
  let songs: Song[] = [];
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    songs = (await client.search3({ query: '', songCount: 100, albumCount: 0, artistCount: 0 })).searchResult3.song as Song[];
    if (songs.length > 0 && songs.filter((s) => !s.path.startsWith('Singles/')).every((s) => s.albumId)) break;
  }
  const [a, b, c] = songs.filter((s) => s.albumId).sort((x, y) => (x.path < y.path ? -1 : 1));
  assert.ok(a && b && c, JSON.stringify(songs));
  assert.equal((await client.star({ id: a.id, albumId: b.albumId })).status, 'ok');
  await client.setRating({ id: b.id, rating: 3 });
  await client.scrobble({ id: c.id });
  await client.scrobble({ id: c.id });
  const playlist = (await client.createPlaylist({ name: 'Kept', songId: [c.id, a.id] })).playlist;
  await client.savePlayQueue({ id: [b.id, c.id], current: c.id, position: 4321 });
  await server.stop();

  ({ server, port } = await start(data));
  client = clientOn(port);
  const starred = (await client.getStarred2()).starred2;
  assert.deepEqual(starred.song.map((s: { id: string }) => s.id), [a.id]);
  assert.deepEqual(starred.album.map((s: { id: string }) => s.id), [b.albumId]);
  assert.equal((await client.getSong({ id: b.id })).song.userRating, 3);
  const played = (await client.getSong({ id: c.id })).song;
  assert.equal(played.playCount, 2);
  assert.ok(played.played);
  const kept = (await client.getPlaylist({ id: playlist.id })).playlist;
  assert.equal(kept.name, 'Kept');
  assert.deepEqual(kept.entry.map((e: { id: string }) => e.id), [c.id, a.id]);
  const queue = (await client.getPlayQueue()).playQueue;
  assert.deepEqual(queue.entry.map((e: { id: string }) => e.id), [b.id, c.id]);
  assert.equal(queue.current, c.id);
  assert.equal(queue.position, 4321);
  assert.doesNotMatch(server.log, new RegExp(appPassword.replace(/[-]/g, '\\-')), 'no app password in the log');
});
