import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalLibrary, safeRelativePath } from '../../src/client/index.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { makeTempDir, removeDir } from './support/files.js';

const refused = (err: unknown): boolean => isAudioStreamError(err, 'UNSAFE_PATH');

describe('safeRelativePath', () => {
  test('accepts ordinary relative paths unchanged', () => {
    for (const p of ['song.mp3', 'Artist/Album/01 Track.flac', "Singles/Don't Panic.m4a", 'a b/ c .wav', '...wav', '.hidden.ogg', 'x..y/z.mp3']) {
      assert.equal(safeRelativePath(p), p);
    }
  });

  test('normalises to NFC', () => {
    assert.equal(safeRelativePath('Cafe\u0301/Cre\u0300me.mp3'), 'Caf\u00e9/Cr\u00e8me.mp3');
    assert.equal(safeRelativePath('Caf\u00e9.mp3'), 'Caf\u00e9.mp3');
  });

  const unsafe: [string, string][] = [
    ['an empty name', ''],
    ['".." alone', '..'],
    ['"." alone', '.'],
    ['a leading ".."', '../etc/passwd'],
    ['".." in the middle', 'a/../../b.mp3'],
    ['a trailing ".."', 'a/..'],
    ['a "." component', 'a/./b.mp3'],
    ['an absolute path', '/etc/passwd'],
    ['a backslash', 'a\\b.mp3'],
    ['a backslash traversal', '..\\..\\b.mp3'],
    ['a NUL byte', 'a\0b.mp3'],
    ['an empty middle component', 'a//b.mp3'],
    ['a trailing slash', 'a/'],
    ['a newline', 'a\nb.mp3'],
    ['a carriage return', 'a\rb.mp3'],
    ['an escape character', 'a\x1b[31mb.mp3'],
    ['DEL', 'a\x7fb.mp3'],
    ['a component over 255 bytes', `${'é'.repeat(128)}.mp3`],
  ];
  for (const [what, p] of unsafe) {
    test(`refuses ${what}`, () => {
      assert.throws(() => safeRelativePath(p), refused);
    });
  }

  test('a component of exactly 255 bytes is fine; 256 is not', () => {
    assert.equal(safeRelativePath(`d/${'a'.repeat(251)}.mp3`), `d/${'a'.repeat(251)}.mp3`);
    assert.throws(() => safeRelativePath(`d/${'a'.repeat(252)}.mp3`), refused);
  });

  test('the message shows control characters escaped, not raw', () => {
    assert.throws(
      () => safeRelativePath('evil\x1b[2J.mp3'),
      (err: unknown) => refused(err) && (err as Error).message.includes('\\x1b') && !(err as Error).message.includes('\x1b'),
    );
  });
});

describe('LocalLibrary', () => {
  let work: string;
  before(async () => {
    work = await makeTempDir('local-library');
  });
  after(async () => {
    await removeDir(work);
  });

  test('finalPathFor puts the file under the root, NFC-normalised', () => {
    const library = new LocalLibrary(path.join(work, 'lib'));
    assert.equal(library.finalPathFor('A/B/c.mp3'), path.join(work, 'lib', 'A', 'B', 'c.mp3'));
    assert.equal(library.finalPathFor('Cafe\u0301.mp3'), path.join(work, 'lib', 'Caf\u00e9.mp3'));
  });

  test('finalPathFor refuses what safeRelativePath refuses', () => {
    const library = new LocalLibrary(path.join(work, 'lib'));
    for (const p of ['../x.mp3', '/etc/passwd', 'a\\b', 'a\0b', 'a//b', '', 'a\x01b', `${'x'.repeat(300)}`]) {
      assert.throws(() => library.finalPathFor(p), refused, JSON.stringify(p));
    }
  });

  test('temporaryPathFor is ".<name>.part" beside the final name', () => {
    assert.equal(LocalLibrary.temporaryPathFor('/lib/A/song.mp3'), '/lib/A/.song.mp3.part');
  });

  test('prepareDirectoryFor creates the library with mode 0700 and subdirectories with the same bits', async () => {
    const library = new LocalLibrary(path.join(work, 'new', 'lib'));
    await library.prepareDirectoryFor(library.finalPathFor('A/B/c.mp3'));
    for (const dir of ['', 'A', 'A/B']) {
      assert.equal((await fsp.stat(path.join(library.root, dir))).mode & 0o777, 0o700, dir || 'the root');
    }
  });

  test('subdirectories copy an existing library\'s bits even under a narrow umask (077)', async () => {
    const root = path.join(work, 'wide');
    await fsp.mkdir(root);
    await fsp.chmod(root, 0o755);
    const library = new LocalLibrary(root);
    const previous = process.umask(0o077);
    try {
      await library.prepareDirectoryFor(library.finalPathFor('A/B/c.mp3'));
    } finally {
      process.umask(previous);
    }
    assert.equal((await fsp.stat(path.join(root, 'A'))).mode & 0o777, 0o755);
    assert.equal((await fsp.stat(path.join(root, 'A', 'B'))).mode & 0o777, 0o755);
  });

  test('a file in the way of a directory is WRITE_FAILED with a message saying so', async () => {
    const root = path.join(work, 'blocked');
    await fsp.mkdir(root);
    await fsp.writeFile(path.join(root, 'A'), 'a file, not a directory');
    const library = new LocalLibrary(root);
    await assert.rejects(library.prepareDirectoryFor(library.finalPathFor('A/c.mp3')), (err: unknown) => isAudioStreamError(err, 'WRITE_FAILED') && /in the way/.test((err as Error).message));
  });
});
