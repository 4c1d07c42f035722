/**
 * The account store on a real SQLite file in a real data directory: what it writes (mode
 * 0600, no password and no readable app password), what it refuses, how a second
 * connection (as-server user add in another process) sees changes at once, and the one-time
 * import of an accounts.json written by an older version.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  ACCOUNTS_COMPONENT,
  ACCOUNTS_MIGRATIONS,
  AppPasswordSeal,
  SqliteAccountStore,
  importAccountsFile,
  loadServerSecret,
} from '../../src/accounts/index.js';
import { DATABASE_FILE_NAME, ServerDatabase } from '../../src/library/index.js';
import { deriveScramCredential, isAudioStreamError } from '../../src/protocol/index.js';
import { TestHarness } from '../support/server-harness.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const credential = (password: string) => deriveScramCredential(password, { iterations: 4096 });

function open(dir: string): ServerDatabase {
  const database = ServerDatabase.open(dir, { components: { [ACCOUNTS_COMPONENT]: ACCOUNTS_MIGRATIONS } });
  harness.defer(() => database.close());
  return database;
}

/** Every byte SQLite holds for the database: the main file and its write-ahead log. */
async function databaseBytes(dir: string): Promise<string> {
  const file = path.join(dir, DATABASE_FILE_NAME);
  const parts = await Promise.all([file, `${file}-wal`].map((f) => fs.readFile(f).catch(() => Buffer.alloc(0))));
  return Buffer.concat(parts).toString('latin1');
}

describe('SqliteAccountStore', () => {
  test('add, find, list, update, remove; the database is 0600 and holds no password', async () => {
    const dir = path.join(await harness.tempDir(), 'data');
    const secret = await loadServerSecret(dir);
    const store = new SqliteAccountStore(open(dir), secret);
    assert.equal(await store.hasAccounts(), false);
    const ann = credential('hunter2-secret');
    await store.add({ name: 'ann', role: 'admin', scram: ann, created: '2026-01-01T00:00:00.000Z', appPassword: 'app-secret-xyz' });
    await store.add({ name: 'bob', role: 'listener', scram: credential('bobs-pass'), created: '2026-01-02T00:00:00.000Z' });
    assert.equal(await store.hasAccounts(), true);
    assert.deepEqual((await store.list()).map((u) => [u.name, u.role, u.hasAppPassword, u.created]), [
      ['ann', 'admin', true, '2026-01-01T00:00:00.000Z'],
      ['bob', 'listener', false, '2026-01-02T00:00:00.000Z'],
    ]);
    const found = await store.find('ann');
    assert.deepEqual(found?.scram, ann, 'the SCRAM keys come back as they went in');
    assert.equal(found?.appPassword, 'app-secret-xyz');
    assert.equal(await store.find('nobody'), undefined);

    const file = path.join(dir, DATABASE_FILE_NAME);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(`${file}-wal`)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
    assert.equal((await fs.stat(path.join(dir, 'server-secret'))).mode & 0o777, 0o600);
    const bytes = await databaseBytes(dir);
    assert.ok(bytes.includes('ann'), 'the search does look at the rows');
    for (const secretText of ['hunter2-secret', 'bobs-pass', 'app-secret-xyz']) assert.ok(!bytes.includes(secretText), `${secretText} is in the database`);

    // A second connection (another process, as-server user) changes the accounts; the first
    // store sees it on its very next read.
    const again = new SqliteAccountStore(open(dir), await loadServerSecret(dir));
    assert.equal((await again.find('ann'))?.appPassword, 'app-secret-xyz');
    await again.update('ann', { role: 'listener', removeAppPassword: true });
    assert.equal((await store.find('ann'))?.role, 'listener');
    assert.equal((await store.find('ann'))?.appPassword, undefined);
    await again.update('bob', { scram: credential('bob-new'), appPassword: 'second-app-secret' });
    assert.equal((await store.find('bob'))?.appPassword, 'second-app-secret');
    assert.equal((await store.find('bob'))?.role, 'listener', 'fields not given are kept');
    assert.ok(!(await databaseBytes(dir)).includes('second-app-secret'));
    assert.equal(await store.remove('bob'), true);
    assert.equal(await again.remove('bob'), false);
    assert.deepEqual((await again.list()).map((u) => u.name), ['ann']);
    await store.remove('ann');
    assert.equal(await again.hasAccounts(), false);
  });

  test('a taken name, a missing account and another secret are ACCOUNTS_FAILED', async () => {
    const dir = await harness.tempDir();
    const database = open(dir);
    const store = new SqliteAccountStore(database, await loadServerSecret(dir));
    await store.add({ name: 'ann', role: 'admin', scram: credential('x'), created: 'now', appPassword: 'sealed' });
    await assert.rejects(store.add({ name: 'ann', role: 'admin', scram: credential('y'), created: 'now' }), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED') && /already a user "ann"/.test(e.message));
    await assert.rejects(store.update('nobody', { role: 'admin' }), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED') && /no user "nobody"/.test(e.message));
    const other = new SqliteAccountStore(database, Buffer.alloc(32, 1));
    await assert.rejects(other.find('ann'), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED') && !e.message.includes('sealed'));
    assert.deepEqual((await other.list()).map((u) => u.name), ['ann'], 'the list needs no seal');
  });

  test('the server secret is made once and kept; a damaged one is refused', async () => {
    const dir = await harness.tempDir();
    const [a, b] = await Promise.all([loadServerSecret(dir), loadServerSecret(dir)]);
    assert.deepEqual(a, b, 'two processes starting at once agree on one secret');
    assert.deepEqual(await loadServerSecret(dir), a);
    await fs.writeFile(path.join(dir, 'server-secret'), 'short\n');
    await assert.rejects(loadServerSecret(dir), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED'));
  });
});

/** An accounts.json as the file store of earlier versions wrote it. */
async function writeOldAccountsFile(dir: string, secret: Buffer): Promise<{ ann: ReturnType<typeof credential> }> {
  const ann = credential('ann-secret');
  const bob = credential('bob-secret');
  const sealed = new AppPasswordSeal(secret).seal('old-app-secret');
  const keys = (c: typeof ann) => ({ salt: c.salt.toString('base64'), iterations: c.iterations, storedKey: c.storedKey.toString('base64'), serverKey: c.serverKey.toString('base64') });
  const file = {
    version: 1,
    accounts: [
      { name: 'ann', role: 'admin', scram: keys(ann), appPassword: { iv: sealed.iv.toString('base64'), tag: sealed.tag.toString('base64'), data: sealed.data.toString('base64') }, created: '2026-01-01T00:00:00.000Z' },
      { name: 'bob', role: 'listener', scram: keys(bob), created: '2026-01-02T00:00:00.000Z' },
    ],
  };
  await fs.writeFile(path.join(dir, 'accounts.json'), `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  return { ann };
}

describe('importAccountsFile', () => {
  test('accounts.json is imported once, app passwords still sealed, and renamed with the date', async () => {
    const dir = await harness.tempDir();
    const secret = await loadServerSecret(dir);
    const { ann } = await writeOldAccountsFile(dir, secret);
    const store = new SqliteAccountStore(open(dir), secret);
    const lines: string[] = [];
    const count = await importAccountsFile(store, dir, (l) => lines.push(l), () => new Date('2026-12-01T10:00:00.000Z'));
    assert.equal(count, 2);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /imported 2 account\(s\) from .*accounts\.json into .*library\.sqlite; the file is now accounts\.json\.imported-2026-12-01T10-00-00-000Z$/);
    assert.deepEqual((await fs.readdir(dir)).filter((f) => f.startsWith('accounts')), ['accounts.json.imported-2026-12-01T10-00-00-000Z']);
    assert.deepEqual((await store.list()).map((u) => [u.name, u.role, u.hasAppPassword, u.created]), [
      ['ann', 'admin', true, '2026-01-01T00:00:00.000Z'],
      ['bob', 'listener', false, '2026-01-02T00:00:00.000Z'],
    ]);
    const found = await store.find('ann');
    assert.deepEqual(found?.scram, ann);
    assert.equal(found?.appPassword, 'old-app-secret');
    assert.ok(!(await databaseBytes(dir)).includes('old-app-secret'));

    // Once only: no file, nothing to do, no line.
    assert.equal(await importAccountsFile(store, dir, (l) => lines.push(l)), 0);
    assert.equal(lines.length, 1);
  });

  test('a file next to a database that has accounts is left alone, with a line', async () => {
    const dir = await harness.tempDir();
    const secret = await loadServerSecret(dir);
    const store = new SqliteAccountStore(open(dir), secret);
    await store.add({ name: 'cat', role: 'admin', scram: credential('c'), created: 'now' });
    await writeOldAccountsFile(dir, secret);
    const lines: string[] = [];
    assert.equal(await importAccountsFile(store, dir, (l) => lines.push(l)), 0);
    assert.match(lines.join('\n'), /accounts\.json is not used: the accounts are in .*library\.sqlite/);
    assert.deepEqual((await store.list()).map((u) => u.name), ['cat']);
    await fs.access(path.join(dir, 'accounts.json'));
  });

  test('a damaged file imports nothing, stays where it is, and is ACCOUNTS_FAILED', async () => {
    const dir = await harness.tempDir();
    const store = new SqliteAccountStore(open(dir), await loadServerSecret(dir));
    const file = path.join(dir, 'accounts.json');
    const damaged = [
      ['{"version":1,"accounts":[{"name":"x"', /not JSON/],
      ['{"version":2,"accounts":[]}', /no version 1 account list/],
      ['{"version":1,"accounts":[{"name":"x","role":"root","scram":{}}]}', /lacks name, role or keys/],
      ['{"version":1,"accounts":[{"name":"x","role":"admin","created":"now","scram":{"salt":"AAAAAAAAAAA=","iterations":4096,"storedKey":"","serverKey":""}}]}', /keys of "x" are malformed/],
    ] as const;
    for (const [text, why] of damaged) {
      await fs.writeFile(file, text, { mode: 0o600 });
      await assert.rejects(importAccountsFile(store, dir, () => {}), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED') && why.test(e.message) && /damaged/.test(e.message));
      assert.equal(await store.hasAccounts(), false);
      assert.equal(await fs.readFile(file, 'utf8'), text);
    }
  });

  test('all accounts or none: a file whose second account cannot be stored imports nothing', async () => {
    const dir = await harness.tempDir();
    const secret = await loadServerSecret(dir);
    await writeOldAccountsFile(dir, secret);
    const file = path.join(dir, 'accounts.json');
    const value = JSON.parse(await fs.readFile(file, 'utf8'));
    // A whole number the parser passes on and the STRICT table refuses (no 64-bit integer).
    value.accounts[1].scram.iterations = 1e300;
    await fs.writeFile(file, JSON.stringify(value), { mode: 0o600 });
    const store = new SqliteAccountStore(open(dir), secret);
    await assert.rejects(importAccountsFile(store, dir, () => {}), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED'));
    assert.equal(await store.hasAccounts(), false, 'the first account did not go in alone');
    await fs.access(file);
  });
});
