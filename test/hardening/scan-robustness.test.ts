/**
 * Scan robustness, extending test/library/scan.test.ts: loops through several folders, a
 * tree deeper than the default limit, a folder of 20,000 files, folders whose entries cannot
 * be stat'ed, names that are not UTF-8 in the forms an attacker would pick (overlong "/" and
 * ".", encoded surrogates), and special files with audio names. Each thing skipped is
 * reported exactly once, nothing hangs or crashes, and the server serves what remains.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { TestHarness } from '../support/server-harness.js';
import { LIST_REQUEST, listReply, requestLine } from '../support/wire.js';
import { HELLO_PACKET, getRequest, lineText, waitForV2Replies } from './support/v2-wire.js';
import { scan, type Skip } from '../support/scan-results.js';

const harness = new TestHarness();
after(() => harness.cleanup());


/** Each skipped thing is reported once: no path twice. */
function assertOneLineEach(skipped: Skip[]): void {
  const paths = skipped.map((s) => s.path);
  assert.deepEqual(paths, [...new Set(paths)], `one skip line per thing: ${JSON.stringify(skipped)}`);
}

const IS_ROOT = process.getuid?.() === 0;

describe('scan robustness', () => {
  test('folders linking to each other and a deep link back to the root: every file once, one line per link, the same on every scan', { timeout: 10_000 }, async () => {
    const root = await harness.library({ 'a/song.mp3': 's', 'b/track.ogg': 't', 'a/x/y/z/deep.flac': 'd' });
    await fsp.symlink('../b', path.join(root, 'a', 'to-b'));
    await fsp.symlink('../a', path.join(root, 'b', 'to-a'));
    await fsp.symlink(root, path.join(root, 'a', 'x', 'y', 'z', 'home'));
    await fsp.symlink('../../..', path.join(root, 'a', 'x', 'y', 'up3'));
    const first = await scan(root);
    const names = first.paths.map((p) => path.basename(p)).sort();
    assert.deepEqual(names, ['deep.flac', 'song.mp3', 'track.ogg'], `each real file exactly once: ${first.paths.join(', ')}`);
    assertOneLineEach(first.skipped);
    for (const s of first.skipped) assert.match(s.reason, /already visited/);
    const again = await scan(root);
    assert.deepEqual(again, first);
  });

  test(`a tree deeper than the default limit of 64 levels: files down to the limit are listed, the deeper folder is skipped with one line`, { timeout: 20_000 }, async () => {
    const root = await harness.library();
    let dir = root;
    for (let level = 1; level <= 70; level++) {
      dir = path.join(dir, 'd');
      await fsp.mkdir(dir);
      await fsp.writeFile(path.join(dir, `level${level}.mp3`), 'x');
    }
    const { paths, skipped } = await scan(root);
    assert.equal(paths.length, 64);
    assert.ok(paths.includes(`${'d/'.repeat(64)}level64.mp3`), 'the file at the limit is listed');
    assert.ok(!paths.some((p) => p.endsWith('level65.mp3')), 'nothing below it');
    assert.deepEqual(skipped, [{ path: `${'d/'.repeat(64)}d`, reason: 'deeper than 64 levels' }]);
  });

  test('a folder of 20,000 files is listed whole and served over v1 and v2', { timeout: 60_000 }, async () => {
    const root = await harness.library();
    const names = Array.from({ length: 20_000 }, (_, i) => `track-${String(i).padStart(5, '0')}.mp3`);
    for (const name of names) writeFileSync(path.join(root, name), 'x');
    for (let i = 0; i < 200; i++) writeFileSync(path.join(root, `notes-${i}.txt`), 'x');
    const server = await harness.startServer({ root });
    assert.equal(server.library.current.entries.length, 20_000);
    assert.deepEqual(server.skipped, []);

    const v1 = await harness.connect(server.port);
    await v1.send(LIST_REQUEST);
    await v1.end();
    assert.deepEqual((await v1.waitForClose(20_000)).received, listReply(names));

    const v2 = await harness.connect(server.port);
    await v2.send(Buffer.concat([HELLO_PACKET, requestLine('LIST2')]));
    const replies = await waitForV2Replies(v2, ['line', ...names.map(() => 'line' as const)], 20_000);
    assert.equal(lineText(replies[0]), 'OK 20000');
    assert.deepEqual(replies.slice(1).map((r) => (JSON.parse(lineText(r)) as { path: string }).path), names);
  });

  test('a folder that can be read but not searched: its entries cannot be stat\'ed and are skipped, one line each', { timeout: 10_000 }, async (t) => {
    if (IS_ROOT) {
      t.skip('running as root: permissions do not stop root from stat\'ing, so nothing would be skipped');
      return;
    }
    const root = await harness.library({ 'ok.mp3': 'o', 'noexec/a.mp3': 'a', 'noexec/b.ogg': 'b' });
    const noexec = path.join(root, 'noexec');
    await fsp.chmod(noexec, 0o600); // r without x: readdir works, stat of what is inside fails
    try {
      const { paths, skipped } = await scan(root);
      assert.deepEqual(paths, ['ok.mp3']);
      assertOneLineEach(skipped);
      assert.ok(skipped.length >= 1, 'the folder or its entries are reported');
      for (const s of skipped) assert.match(s.reason, /cannot (stat|read)/);
    } finally {
      await fsp.chmod(noexec, 0o755);
    }
  });

  test('an unreadable file is listed (the scan does not open files) but answered ERR UNREADABLE over v2', { timeout: 10_000 }, async (t) => {
    if (IS_ROOT) {
      t.skip('running as root: chmod 000 does not stop root from reading the file');
      return;
    }
    const root = await harness.library({ 'locked.mp3': 'l', 'ok.mp3': 'o' });
    await fsp.chmod(path.join(root, 'locked.mp3'), 0o000);
    try {
      const server = await harness.startServer({ root });
      const client = await harness.connect(server.port);
      await client.send(Buffer.concat([HELLO_PACKET, getRequest('locked.mp3'), getRequest('ok.mp3')]));
      const [locked, ok] = await waitForV2Replies(client, ['line', 'get']);
      assert.match(lineText(locked), /^ERR UNREADABLE /);
      assert.equal(ok?.kind, 'get');
    } finally {
      await fsp.chmod(path.join(root, 'locked.mp3'), 0o644);
    }
  });

  test('names that are not UTF-8 in the forms an attacker would pick are skipped, one line each, and cannot be asked for', { timeout: 10_000 }, async () => {
    const root = await harness.library({ 'good.mp3': 'g' });
    const bad = [
      Buffer.from([0x2e, 0x2e, 0xc0, 0xaf, 0x78, 0x2e, 0x6d, 0x70, 0x33]), // "..", overlong "/", "x.mp3"
      Buffer.from([0xc0, 0xae, 0xc0, 0xae, 0x2e, 0x6d, 0x70, 0x33]), // overlong "..", ".mp3"
      Buffer.from([0xed, 0xa0, 0x80, 0x2e, 0x6f, 0x67, 0x67]), // an encoded surrogate, ".ogg"
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x6d, 0x70, 0x33]), // "café.mp3" in Latin-1
      Buffer.from([0xf4, 0x90, 0x80, 0x80, 0x2e, 0x77, 0x61, 0x76]), // past U+10FFFF, ".wav"
    ];
    const rootBytes = Buffer.from(`${root}/`, 'utf8');
    for (const name of bad) await fsp.writeFile(Buffer.concat([rootBytes, name]), 'b');
    const server = await harness.startServer({ root });
    assert.deepEqual(server.library.current.entries.map((e) => e.path), ['good.mp3']);
    assert.equal(server.skipped.length, bad.length);
    assertOneLineEach(server.skipped);
    for (const s of server.skipped) assert.match(s.reason, /not valid UTF-8/);

    // What the names decode to (with U+FFFD for the bad bytes) is not in the index either.
    const client = await harness.connect(server.port);
    const asks = bad.map((name) => getRequest(name.toString('utf8')));
    await client.send(Buffer.concat([HELLO_PACKET, ...asks]));
    const replies = await waitForV2Replies(client, asks.map(() => 'line' as const));
    for (const reply of replies) assert.match(lineText(reply), /^ERR NOT_FOUND /);
  });

  test('a FIFO with an audio name, and a link to it, are not listed and do not hang the scan', { timeout: 10_000 }, async (t) => {
    const root = await harness.library({ 'good.mp3': 'g' });
    try {
      execFileSync('mkfifo', [path.join(root, 'pipe.mp3')]);
    } catch (err) {
      t.skip(`cannot make a FIFO here (${(err as Error).message})`);
      return;
    }
    await fsp.symlink('pipe.mp3', path.join(root, 'pipe-link.flac'));
    const { paths } = await scan(root);
    assert.deepEqual(paths, ['good.mp3']);
  });
});
