/**
 * The apiKeyAuthentication extension: keys made by `as-server user apikey NAME` (stored as a
 * hash only), used by the real `subsonic-api` client (which sends `apiKey` alone); conflicting
 * mechanisms (43), wrong, replaced and revoked keys (44), tokenInfo, the extension announced,
 * and failures counted in the LoginThrottle the other logins share.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SubsonicAPI } from 'subsonic-api';
import { apiKeyHash, loadServerSecret, makeApiKey, SqliteAccountStore } from '../../src/accounts/index.js';
import { ServerDatabase } from '../../src/library/index.js';
import { USERDATA_COMPONENT, USERDATA_MIGRATIONS, UserDataStore } from '../../src/library/user-data-store.js';
import { REPO_ROOT, SAMPLE_LIBRARY } from '../client/support/paths.js';
import { WebHarness } from '../http/support/web-harness.js';
import { APP_PASSWORD, assertValidJson, assertValidXml, LOGIN_PASSWORD, md5, rest, startSubsonicServer, USER, type SubsonicServer } from './support/subsonic-harness.js';

const harness = new WebHarness();
after(() => harness.cleanup());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers read loosely; validated below
type Loose = Record<string, (params?: Record<string, unknown>) => Promise<any>>;

async function codeOf(server: SubsonicServer, params: Record<string, string>): Promise<number | undefined> {
  const answer = await rest(server, 'ping.view', { v: '1.16.1', c: 'test', f: 'json', ...params });
  const envelope = assertValidJson('ping', answer.text) as { error?: { code: number } };
  return envelope.error?.code;
}

describe('Subsonic apiKey logins', () => {
  let server: SubsonicServer;
  let key: string;

  before(async () => {
    server = await startSubsonicServer(harness, { throttle: { baseDelayMs: 0 } });
    key = makeApiKey();
    await server.authenticator.store.setApiKeyHash(USER, apiKeyHash(key));
  });

  test('the real client logs in with apiKey alone; tokenInfo names the user; the extension is announced', async () => {
    const sent: URL[] = [];
    const client = new SubsonicAPI({ url: server.base, auth: { apiKey: key }, fetch: async (input, init) => { sent.push(new URL(String(input))); return fetch(input, init); } }) as unknown as Loose;
    const ping = await client.ping();
    assert.equal(ping.status, 'ok');
    assert.equal(sent[0]!.searchParams.get('apiKey'), key);
    assert.equal(sent[0]!.searchParams.has('u'), false, 'the client sends no u with a key');
    const info = await rest(server, 'tokenInfo', { apiKey: key, f: 'json' });
    assert.equal((assertValidJson('tokenInfo', info.text).tokenInfo as { username: string }).username, USER);
    const extensions = await client.getOpenSubsonicExtensions();
    assert.deepEqual(extensions.openSubsonicExtensions.map((e: { name: string }) => e.name).sort(), ['apiKeyAuthentication', 'formPost', 'songLyrics']);
    // A key logs in as its account, with its data: a star made by key shows for the token login.
    const song = (await client.search3({ query: 'pink' })).searchResult3.song[0];
    await client.star({ id: song.id });
    const byToken = await rest(server, 'getSong', { id: song.id, f: 'json', u: USER, t: md5(APP_PASSWORD + 'q1'), s: 'q1' });
    assert.ok((assertValidJson('getSong', byToken.text).song as { starred?: string }).starred);
    await client.unstar({ id: song.id });
  });

  test('apiKey with u, p, t or s is error 43; a wrong key 44, in JSON and in XML', async () => {
    assert.equal(await codeOf(server, { apiKey: key, u: USER }), 43);
    assert.equal(await codeOf(server, { apiKey: key, p: LOGIN_PASSWORD }), 43);
    assert.equal(await codeOf(server, { apiKey: key, t: md5(APP_PASSWORD + 's'), s: 's' }), 43);
    assert.equal(await codeOf(server, { apiKey: key, s: 's' }), 43);
    assert.equal(await codeOf(server, { apiKey: key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A') }), 44);
    assert.equal(await codeOf(server, { apiKey: '' }), 44);
    assert.equal(await codeOf(server, { apiKey: 'x'.repeat(5000) }), 44);
    const xml = await rest(server, 'tokenInfo', { apiKey: 'nope' });
    assert.match(xml.text, /<error code="44" message="invalid API key/);
    await assertValidXml(harness, xml.text);
  });

  test('a new key replaces the old one; a revoked key no longer logs in', async () => {
    const store = server.authenticator.store;
    const second = makeApiKey();
    await store.setApiKeyHash(USER, apiKeyHash(second));
    assert.equal(await codeOf(server, { apiKey: key }), 44, 'the replaced key');
    assert.equal(await codeOf(server, { apiKey: second }), undefined);
    assert.equal((await store.list()).find((a) => a.name === USER)?.hasApiKey, true);
    assert.equal(await store.removeApiKey(USER), true);
    assert.equal(await codeOf(server, { apiKey: second }), 44, 'the revoked key');
    key = makeApiKey();
    await store.setApiKeyHash(USER, apiKeyHash(key));
  });

  test('wrong keys count in the shared LoginThrottle: the address is then held for every login', async () => {
    const throttled = await startSubsonicServer(harness, { throttle: { baseDelayMs: 200, maxDelayMs: 400 } });
    const before = throttled.throttle.failuresFrom('127.0.0.1');
    assert.equal(await codeOf(throttled, { apiKey: 'guess-1' }), 44);
    assert.equal(throttled.throttle.failuresFrom('127.0.0.1'), before + 1);
    assert.ok(throttled.throttle.delayFor('127.0.0.1', USER) > 0, 'a password login from that address now waits too');
    const started = Date.now();
    assert.equal(await codeOf(throttled, { apiKey: 'guess-2' }), 44);
    assert.ok(Date.now() - started >= 150, 'the next key attempt was held');
  });
});

describe('as-server user apikey', () => {
  test('prints a new key, stores only its hash, list shows it, --revoke removes it', { timeout: 60_000 }, async () => {
    const data = await fsp.mkdtemp(path.join(os.tmpdir(), 'as-apikey-'));
    try {
      const run = (args: string[], input = '') => spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'as-server'), 'user', ...args, '-l', SAMPLE_LIBRARY, '--data', data], { input, encoding: 'utf8', timeout: 20_000 });
      assert.equal(run(['add', 'ann'], 'pw-1\n').status, 0);
      const made = run(['apikey', 'ann']);
      assert.equal(made.status, 0, made.stderr);
      const key = /^API key for ann \(for Subsonic apps; shown once, replaces any older one\): ([A-Za-z0-9_-]{43})\n$/.exec(made.stdout)?.[1];
      assert.ok(key, made.stdout);
      assert.match(run(['list']).stdout, /^ann\tlistener\tapi-key\n$/);
      const files = await fsp.readdir(data);
      for (const file of files) {
        const bytes = await fsp.readFile(path.join(data, file)).catch(() => Buffer.alloc(0));
        assert.equal(bytes.includes(key), false, `the key itself is not in ${file}`);
      }
      const database = ServerDatabase.open(data);
      try {
        const store = new SqliteAccountStore(database, await loadServerSecret(data));
        assert.equal((await store.findByApiKeyHash(apiKeyHash(key)))?.name, 'ann');
      } finally {
        database.close();
      }
      const nobody = run(['apikey', 'nobody']);
      assert.notEqual(nobody.status, 0);
      assert.match(nobody.stderr, /there is no user "nobody"/);
      assert.match(run(['apikey', 'ann', '--revoke']).stdout, /^revoked the API key of ann\n$/);
      assert.match(run(['list']).stdout, /^ann\tlistener\n$/);
    } finally {
      await fsp.rm(data, { recursive: true, force: true });
    }
  });

  test('user remove takes what the user recorded with it: a new account of the same name inherits nothing', { timeout: 60_000 }, async () => {
    const data = await fsp.mkdtemp(path.join(os.tmpdir(), 'as-forget-'));
    try {
      const run = (args: string[], input = '') => spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'as-server'), 'user', ...args, '-l', SAMPLE_LIBRARY, '--data', data], { input, encoding: 'utf8', timeout: 20_000 });
      assert.equal(run(['add', 'ann'], 'pw-1\n').status, 0);
      assert.equal(run(['add', 'bob'], 'pw-2\n').status, 0);
      const withStore = (use: (store: UserDataStore) => void): void => {
        const database = ServerDatabase.open(data, { components: { [USERDATA_COMPONENT]: USERDATA_MIGRATIONS } });
        try {
          use(new UserDataStore(database));
        } finally {
          database.close();
        }
      };
      withStore((store) => {
        for (const user of ['ann', 'bob']) {
          store.star(user, 'track', [1, 2], new Date());
          store.starFolders(user, ['Aurora Tones'], new Date());
          store.updatePlaylist(store.createPlaylist(user, `${user}'s`, [1, 2], new Date())!, { public: true }, new Date());
          store.savePlayQueue(user, { trackIds: [1], positionMs: 0, changedBy: 'test' }, new Date());
        }
      });
      assert.equal(run(['remove', 'ann']).status, 0);
      withStore((store) => {
        assert.equal(store.dataOf('ann', 'track', [1, 2]).size, 0);
        assert.equal(store.folderData('ann', ['Aurora Tones']).size, 0, "ann's starred folder went with her");
        assert.equal(store.folderData('bob', ['Aurora Tones']).size, 1);
        assert.deepEqual(store.playlistsVisibleTo('ann').map((p) => p.owner), ['bob'], "ann's public playlist went with her");
        assert.equal(store.playQueue('ann'), undefined);
        assert.equal(store.dataOf('bob', 'track', [1, 2]).size, 2, "bob's data stays");
        assert.ok(store.playQueue('bob'));
      });
    } finally {
      await fsp.rm(data, { recursive: true, force: true });
    }
  });
});
