import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { isAudioFileName, scanLibrary } from '../../src/library/index.js';
import { TestHarness, writeFiles } from '../support/server-harness.js';
import { scan } from '../support/scan-results.js';

const harness = new TestHarness();
after(() => harness.cleanup());


describe('isAudioFileName', () => {
  for (const name of ['a.wav', 'a.mp3', 'a.flac', 'a.ogg', 'a.m4a', 'A.WAV', 'b.Mp3', 'c.FlAc', 'd.OGG', 'e.M4A', 'x.y.mp3', 'with space.mp3']) {
    test(`${name} is audio`, () => assert.equal(isAudioFileName(name), true));
  }
  for (const name of ['a.txt', 'a.mp4', 'a.wma', 'a.aac', 'mp3', '.mp3', 'a.mp3.txt', 'a.wav.bak', 'a.', 'a.mp3 ', 'amp3', 'a_mp3']) {
    test(`${JSON.stringify(name)} is not audio`, () => assert.equal(isAudioFileName(name), false));
  }
});

describe('scanLibrary', () => {
  test('lists only .wav .mp3 .flac .ogg .m4a, in any letter case', async () => {
    const root = await harness.library({
      'a.wav': '1',
      'b.mp3': '1',
      'c.flac': '1',
      'd.ogg': '1',
      'e.m4a': '1',
      'f.WAV': '1',
      'g.Mp3': '1',
      'h.FLAC': '1',
      'i.oGg': '1',
      'j.M4A': '1',
      'notes.txt': '1',
      'cover.jpg': '1',
      'video.mp4': '1',
      'x.mp3.txt': '1',
      'x.wav.bak': '1',
      '.mp3': '1',
      mp3: '1',
      'dir.mp3/inside.ogg': '1',
    });
    const { paths } = await scan(root);
    assert.deepEqual(paths, ['a.wav', 'b.mp3', 'c.flac', 'd.ogg', 'dir.mp3/inside.ogg', 'e.m4a', 'f.WAV', 'g.Mp3', 'h.FLAC', 'i.oGg', 'j.M4A']);
  });

  test('sorts by path in plain code-unit order, the same on every scan', async () => {
    // Created in an order unrelated to the result; the expected order is written out by
    // hand: upper case before lower case, ' ' (0x20) before '/' (0x2f), digits by character,
    // and non-ASCII after ASCII.
    const names = ['é.mp3', 'z.mp3', 'a/b.mp3', 'B.mp3', 'a b.mp3', '9.mp3', '10.mp3', 'Z/x.mp3', 'a.mp3', 'a-b.mp3'];
    const root = await harness.library(Object.fromEntries(names.map((n) => [n, 'x'])));
    const expected = ['10.mp3', '9.mp3', 'B.mp3', 'Z/x.mp3', 'a b.mp3', 'a-b.mp3', 'a.mp3', 'a/b.mp3', 'z.mp3', 'é.mp3'];
    assert.deepEqual((await scan(root)).paths, expected);
    assert.deepEqual((await scan(root)).paths, expected);
  });

  test('walks nested folders; paths are relative and /-separated; entries carry size, mtime and absolute path', async () => {
    const root = await harness.library({
      'top.mp3': 'abc',
      'a/b/c/d/deep.flac': Buffer.alloc(1234, 1),
      'a/mid.ogg': '',
      'a/b/empty-dir-sibling.wav': 'w',
    });
    await fsp.mkdir(path.join(root, 'a', 'empty'));
    const entries = await scanLibrary(root);
    assert.deepEqual(
      entries.map((e) => e.path),
      ['a/b/c/d/deep.flac', 'a/b/empty-dir-sibling.wav', 'a/mid.ogg', 'top.mp3'],
    );
    for (const entry of entries) {
      assert.ok(!entry.path.startsWith('/') && !entry.path.includes('\\'), entry.path);
      const stats = await fsp.stat(entry.absolutePath);
      assert.equal(entry.size, stats.size, entry.path);
      assert.equal(entry.mtimeMs, stats.mtimeMs, entry.path);
      assert.equal(await fsp.realpath(entry.absolutePath), await fsp.realpath(path.join(root, ...entry.path.split('/'))));
    }
    assert.equal(entries.find((e) => e.path === 'a/b/c/d/deep.flac')!.size, 1234);
  });

  test('an empty library gives no entries', async () => {
    assert.deepEqual((await scan(await harness.library())).paths, []);
  });

  describe('symbolic links', () => {
    test('links to a file or folder outside the library are skipped and reported', async () => {
      const outside = await harness.library({ 'secret.mp3': 's', 'dir/also.mp3': 'a' });
      const root = await harness.library({ 'inside.mp3': 'i' });
      await fsp.symlink(path.join(outside, 'secret.mp3'), path.join(root, 'link-file.mp3'));
      await fsp.symlink(path.join(outside, 'dir'), path.join(root, 'link-dir'));
      const { paths, skipped } = await scan(root);
      assert.deepEqual(paths, ['inside.mp3']);
      assert.deepEqual(
        skipped.map((s) => s.path).sort(),
        ['link-dir', 'link-file.mp3'],
      );
      for (const s of skipped) assert.match(s.reason, /outside/);
    });

    test('a relative link that climbs out through ".." is skipped', async () => {
      const parent = await harness.tempDir();
      await writeFiles(parent, { 'lib/in.mp3': 'i', 'elsewhere/out.mp3': 'o' });
      await fsp.symlink('../elsewhere/out.mp3', path.join(parent, 'lib', 'sneaky.mp3'));
      assert.deepEqual((await scan(path.join(parent, 'lib'))).paths, ['in.mp3']);
    });

    test('a link to a file inside the library is served under the link name', async () => {
      const root = await harness.library({ 'real/track.mp3': 't' });
      await fsp.symlink(path.join(root, 'real', 'track.mp3'), path.join(root, 'alias.mp3'));
      assert.deepEqual((await scan(root)).paths, ['alias.mp3', 'real/track.mp3']);
    });

    test('a broken link is skipped and reported', async () => {
      const root = await harness.library({ 'ok.mp3': 'o' });
      await fsp.symlink(path.join(root, 'nothing-here.mp3'), path.join(root, 'broken.mp3'));
      const { paths, skipped } = await scan(root);
      assert.deepEqual(paths, ['ok.mp3']);
      assert.deepEqual(skipped.map((s) => s.path), ['broken.mp3']);
      assert.match(skipped[0]!.reason, /broken/);
    });

    test('link loops end: a link to the root, to a parent, and two links to each other', { timeout: 10_000 }, async () => {
      const root = await harness.library({ 'a/song.mp3': 's', 'top.ogg': 't' });
      await fsp.symlink('.', path.join(root, 'self'));
      await fsp.symlink('..', path.join(root, 'a', 'up'));
      await fsp.symlink('ping', path.join(root, 'pong'));
      await fsp.symlink('pong', path.join(root, 'ping'));
      const { paths, skipped } = await scan(root);
      assert.deepEqual(paths, ['a/song.mp3', 'top.ogg'], 'each real file exactly once');
      assert.deepEqual(skipped.map((s) => s.path).sort(), ['a/up', 'ping', 'pong', 'self']);
    });

    test('a folder reached twice through links is listed once, under the same name every scan', async () => {
      const root = await harness.library({ 'z-real/song.mp3': 's' });
      await fsp.symlink('z-real', path.join(root, 'a-link'));
      const first = await scan(root);
      assert.deepEqual(first.paths, ['a-link/song.mp3']);
      assert.deepEqual((await scan(root)).paths, first.paths);
    });
  });

  test('a file name that is not valid UTF-8 is skipped and reported, and so is such a folder', async () => {
    const root = await harness.library({ 'good.mp3': 'g' });
    const rootBytes = Buffer.from(root, 'utf8');
    const slash = Buffer.from('/', 'utf8');
    const badFile = Buffer.concat([rootBytes, slash, Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2e, 0x6d, 0x70, 0x33])]); // "bad\xff.mp3"
    const badDir = Buffer.concat([rootBytes, slash, Buffer.from([0xc3, 0x28])]); // an invalid 2-byte sequence
    await fsp.writeFile(badFile, 'b');
    await fsp.mkdir(badDir);
    await fsp.writeFile(Buffer.concat([badDir, slash, Buffer.from('inner.mp3', 'utf8')]), 'i');
    const { paths, skipped } = await scan(root);
    assert.deepEqual(paths, ['good.mp3']);
    assert.equal(skipped.length, 2);
    for (const s of skipped) assert.match(s.reason, /UTF-8/);
  });

  // Regression: names with CR or LF were listed, and one such file broke every LIST reply
  // (the line splits in two, and clients refuse the whole list as MALFORMED_LIST).
  test('a file or folder name with a line break is skipped and reported: a LIST line cannot carry it', async () => {
    const root = await harness.library({
      'good.mp3': 'g',
      'line\nbreak.mp3': 'x',
      'carriage\rreturn.mp3': 'x',
      'crlf\r\n.ogg': 'x',
      'folder\nname/inner.mp3': 'x',
    });
    const { paths, skipped } = await scan(root);
    assert.deepEqual(paths, ['good.mp3']);
    assert.deepEqual(
      skipped.map((s) => s.path).sort(),
      ['carriage\rreturn.mp3', 'crlf\r\n.ogg', 'folder\nname', 'line\nbreak.mp3'],
    );
    for (const s of skipped) assert.match(s.reason, /line break/);
  });

  test('an unreadable folder is skipped and reported; the rest is still listed', async (t) => {
    const root = await harness.library({ 'open/a.mp3': 'a', 'locked/b.mp3': 'b', 'z.mp3': 'z' });
    const locked = path.join(root, 'locked');
    await fsp.chmod(locked, 0o000);
    try {
      const blocked = await fsp.readdir(locked).then(
        () => false,
        () => true,
      );
      if (!blocked) {
        t.skip('chmod 000 does not stop this process from reading the folder (running as root?)');
        return;
      }
      const { paths, skipped } = await scan(root);
      assert.deepEqual(paths, ['open/a.mp3', 'z.mp3']);
      assert.deepEqual(skipped.map((s) => s.path), ['locked']);
      assert.match(skipped[0]!.reason, /cannot read/);
    } finally {
      await fsp.chmod(locked, 0o755);
    }
  });

  test('folders deeper than maxDepth are skipped and reported', async () => {
    const root = await harness.library({ 'l1.mp3': '1', 'a/l2.mp3': '2', 'a/b/l3.mp3': '3', 'a/b/c/l4.mp3': '4' });
    const { paths, skipped } = await scan(root, { maxDepth: 2 });
    assert.deepEqual(paths, ['a/b/l3.mp3', 'a/l2.mp3', 'l1.mp3']);
    assert.deepEqual(skipped.map((s) => s.path), ['a/b/c']);
  });

  test('a missing root rejects (Library.open turns that into LIBRARY_NOT_FOUND)', async () => {
    const parent = await harness.tempDir();
    await assert.rejects(scanLibrary(path.join(parent, 'missing')), { code: 'ENOENT' });
  });
});
