/**
 * Two server names that are equal after Unicode normalisation (NFC "Café" and NFD
 * "Cafe\u0301") would be saved at the same local name, since the client stores names in
 * NFC. The second is refused with one clear line; nothing is ever silently overwritten
 * (docs/SECURITY.md, "Paths are checked before anything is written"). A real as-server
 * process serves both real files (Linux keeps them apart).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir } from '../client/support/files.js';
import { clientArgs, describeRun, runClient } from '../client/support/run-client.js';
import { assertErrorLines, assertLibraryFiles, assertSentinelEmpty, makePlace } from './support/checks.js';
import { startServerProcess, waitForListing, type ServerProcess } from './support/server-process.js';

const NFC = 'Album/Caf\u00e9.wav';
const NFD = 'Album/Cafe\u0301.wav';
/** A string matched literally in a RegExp. */
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The same folder spelled both ways: its files collide too. */
const FOLDER_NFC = 'Cr\u00e8me/song.wav';
const FOLDER_NFD = 'Cre\u0300me/song.wav';

describe('a real as-server serving two files whose names differ only in Unicode normalisation', () => {
  let work: string;
  let serverDir: string;
  let server: ServerProcess;
  const contents = new Map<string, Buffer>();
  /** Server paths in listing order. */
  let order: string[];

  before(async () => {
    work = await makeTempDir('nfc-nfd');
    serverDir = path.join(work, 'server');
    for (const name of [NFC, NFD, FOLDER_NFC, FOLDER_NFD, 'plain.wav']) {
      const body = randomBytes(3000);
      contents.set(name, body);
      await fsp.mkdir(path.dirname(path.join(serverDir, name)), { recursive: true });
      await fsp.writeFile(path.join(serverDir, name), body);
    }
    server = await startServerProcess(serverDir);
    const records = await waitForListing(server.port, 'five files', (r) => r.length === 5);
    order = records.map((r) => r.path as string);
  });
  after(async () => {
    await server?.stop();
    await removeDir(work);
  });

  /** The listing index of a server path. */
  const indexOf = (name: string): number => order.indexOf(name);
  /** Of two colliding names, the one listed first (saved) and the other (refused). */
  const firstAndSecond = (a: string, b: string): [string, string] => (indexOf(a) < indexOf(b) ? [a, b] : [b, a]);

  test('get all: the first of each pair is saved, the second refused in one line; nothing overwritten; exit 1', { timeout: 30_000 }, async () => {
    const place = await makePlace(work, 'get-all');
    const result = await runClient(clientArgs(server.port, place.library, 'true'), 'get all\n');
    assert.equal(result.code, 1, describeRun(result));
    const [kept, refused] = firstAndSecond(NFC, NFD);
    const [keptInFolder, refusedInFolder] = firstAndSecond(FOLDER_NFC, FOLDER_NFD);
    const line = (refusedName: string, keptName: string): RegExp =>
      // get all names the file each error is about first, as for any other failure.
      new RegExp(`^error: ${escape(refusedName)}: refusing to save "${escape(refusedName)}" \\(file ${indexOf(refusedName)}\\): its name is the same as file ${indexOf(keptName)}'s \\("${escape(keptName)}"\\) once Unicode-normalised, so it would overwrite it$`);
    // In listing order, as get all goes.
    const pairs = [[refused, kept], [refusedInFolder, keptInFolder]].sort((a, b) => indexOf(a[0]!) - indexOf(b[0]!));
    assertErrorLines(result, pairs.map(([r, k]) => line(r!, k!)));
    assert.match(result.stdout, /^3 saved, 0 already there, 2 failed: Album\/Café\.wav, Crème\/song\.wav$/m, describeRun(result));
    await assertLibraryFiles(place, [NFC, FOLDER_NFC, 'plain.wav']);
    assert.ok((await fsp.readFile(path.join(place.library, NFC))).equals(contents.get(kept)!), 'the local file is the first one, not overwritten by the second');
    assert.ok((await fsp.readFile(path.join(place.library, FOLDER_NFC))).equals(contents.get(keptInFolder)!));
    await assertSentinelEmpty(place);
  });

  test('get of the second alone, and stream+ of it, are refused too; the saved first file stays', { timeout: 30_000 }, async () => {
    const place = await makePlace(work, 'one-by-one');
    const [kept, refused] = firstAndSecond(NFC, NFD);
    const result = await runClient(clientArgs(server.port, place.library, 'true'), `get ${indexOf(kept)}\nget ${indexOf(refused)}\nstream+ ${indexOf(refused)}\n`);
    assert.equal(result.code, 1, describeRun(result));
    const errors = result.stderr.split('\n').filter(Boolean);
    assert.equal(errors.length, 2, describeRun(result));
    for (const e of errors) assert.match(e, /^error: refusing to save ".*" \(file \d+\): its name is the same as file \d+'s/);
    assert.equal(result.stdout.match(/^saved /gm)?.length, 1, describeRun(result));
    await assertLibraryFiles(place, [NFC]);
    assert.ok((await fsp.readFile(path.join(place.library, NFC))).equals(contents.get(kept)!));
  });

  test('verify and info say the second is not saved (its name belongs to the first), not that the file differs', { timeout: 30_000 }, async () => {
    const place = await makePlace(work, 'verify');
    const [kept, refused] = firstAndSecond(NFC, NFD);
    await runClient(clientArgs(server.port, place.library, 'true'), 'get all\n');
    const result = await runClient(clientArgs(server.port, place.library, 'true'), `verify\ninfo ${indexOf(refused)}\n`);
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(result.stderr, '', describeRun(result));
    assert.match(result.stdout, new RegExp(`^ok +${escape(kept)}$`, 'm'));
    assert.match(result.stdout, new RegExp(`^refused +${escape(refused)} \\(same name as file ${indexOf(kept)} once Unicode-normalised\\)$`, 'm'));
    assert.match(result.stdout, /^3 ok, 0 missing, 0 different, 0 partial, 2 refused$/m);
    assert.match(result.stdout, new RegExp(`^local copy: +not saved: its name is the same as file ${indexOf(kept)}'s once Unicode-normalised$`, 'm'));
  });
});
