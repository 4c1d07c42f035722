/**
 * The file-backed account store on a real directory: what it writes (mode 0600, atomically,
 * no password and no readable app password), what it refuses, and how it reads a file that
 * another process (as-server user add) changed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { FileAccountStore, loadServerSecret } from '../../src/accounts/index.js';
import { deriveScramCredential, isAudioStreamError } from '../../src/protocol/index.js';
import { TestHarness } from '../support/server-harness.js';

const harness = new TestHarness();
after(() => harness.cleanup());

const credential = (password: string) => deriveScramCredential(password, { iterations: 4096 });

describe('FileAccountStore', () => {
  test('add, find, list, update, remove; the file is 0600 and holds no password', async () => {
    const dir = path.join(await harness.tempDir(), 'data');
    const secret = await loadServerSecret(dir);
    const store = new FileAccountStore(dir, secret);
    assert.equal(await store.hasAccounts(), false);
    await store.add({ name: 'ann', role: 'admin', scram: credential('hunter2-secret'), created: '2026-01-01T00:00:00.000Z', appPassword: 'app-secret-xyz' });
    await store.add({ name: 'bob', role: 'listener', scram: credential('bobs-pass'), created: '2026-01-02T00:00:00.000Z' });
    assert.equal(await store.hasAccounts(), true);
    assert.deepEqual((await store.list()).map((u) => [u.name, u.role, u.hasAppPassword]), [
      ['ann', 'admin', true],
      ['bob', 'listener', false],
    ]);
    const file = path.join(dir, 'accounts.json');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
    assert.equal((await fs.stat(path.join(dir, 'server-secret'))).mode & 0o777, 0o600);
    const text = await fs.readFile(file, 'utf8');
    for (const secretText of ['hunter2-secret', 'bobs-pass', 'app-secret-xyz']) assert.ok(!text.includes(secretText), `${secretText} is in the file`);
    assert.deepEqual((await fs.readdir(dir)).sort(), ['accounts.json', 'server-secret'], 'no temporary file left behind');

    // A second store on the same directory (another process) reads the sealed app password back.
    const again = new FileAccountStore(dir, await loadServerSecret(dir));
    assert.equal((await again.find('ann'))?.appPassword, 'app-secret-xyz');
    await again.update('ann', { role: 'listener', removeAppPassword: true });
    // The first store sees the change on its next read (the file changed under it).
    assert.equal((await store.find('ann'))?.role, 'listener');
    assert.equal((await store.find('ann'))?.appPassword, undefined);
    assert.equal(await store.remove('bob'), true);
    assert.equal(await store.remove('bob'), false);
    assert.deepEqual((await store.list()).map((u) => u.name), ['ann']);
  });

  test('a taken name, a missing account, a damaged file and another secret are ACCOUNTS_FAILED', async () => {
    const dir = await harness.tempDir();
    const store = new FileAccountStore(dir, await loadServerSecret(dir));
    await store.add({ name: 'ann', role: 'admin', scram: credential('x'), created: 'now', appPassword: 'sealed' });
    await assert.rejects(store.add({ name: 'ann', role: 'admin', scram: credential('y'), created: 'now' }), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED'));
    await assert.rejects(store.update('nobody', { role: 'admin' }), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED'));
    const other = new FileAccountStore(dir, Buffer.alloc(32, 1));
    await assert.rejects(other.find('ann'), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED') && !e.message.includes('sealed'));
    await fs.writeFile(path.join(dir, 'accounts.json'), '{"version":1,"accounts":[{"name":"x"', { mode: 0o600 });
    await assert.rejects(store.find('ann'), (e) => isAudioStreamError(e, 'ACCOUNTS_FAILED') && /damaged/.test(e.message));
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
