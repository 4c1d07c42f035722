import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { exists, listFiles, sha256File } from './support/files.js';
import { playerCommand } from './support/paths.js';
import { clientArgs, describeRun, runClient, startClient } from './support/run-client.js';
import { randomLibraryServer } from './support/loopback-server.js';

const MB = 1024 * 1024;
const FILES: Record<string, number> = {
  'Album/big.wav': 6 * MB + 3,
  'Album/slow.flac': 3 * MB + 5,
  'small.wav': 20_000,
  'empty.ogg': 0,
};

describe('stream+ N against a real AudioServer with generated random files', () => {
  const fx = randomLibraryServer('stream-plus', FILES);

  const indexOf = fx.indexOf;
  const original = fx.original;
  const assertSaved = async (library: string, remote: string): Promise<void> => {
    assert.equal(await sha256File(path.join(library, remote)), await sha256File(original(remote)), `${remote} saved byte-identical`);
    assert.deepEqual((await listFiles(library)).filter((f) => f.endsWith('.part')), [], 'no .part file left');
  };

  for (const remote of ['Album/big.wav', 'small.wav', 'empty.ogg']) {
    test(`recording player: stream+ of ${remote} saves the file and the player gets identical bytes`, { timeout: 20_000 }, async () => {
      const library = path.join(fx.work, `lib-record-${path.basename(remote)}`);
      const recorded = path.join(fx.work, `recorded-${path.basename(remote)}`);
      const run = await runClient(clientArgs(fx.server.port, library, playerCommand('recording-player', recorded)), `stream+ ${indexOf(remote)}\n`);
      assert.equal(run.code, 0, describeRun(run));
      await assertSaved(library, remote);
      assert.equal(await sha256File(recorded), await sha256File(original(remote)), 'the player received the file exactly');
      assert.match(run.stdout, /^saved /m);
      assert.match(run.stdout, /^played /m);
    });
  }

  test('slow player (2 MB/s): stream+ saves the file and the player gets identical bytes', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'lib-slow');
    const recorded = path.join(fx.work, 'recorded-slow');
    const remote = 'Album/slow.flac';
    const run = await runClient(clientArgs(fx.server.port, library, playerCommand('slow-player', recorded, 2_000_000)), `stream+ ${indexOf(remote)}\n`);
    assert.equal(run.code, 0, describeRun(run));
    await assertSaved(library, remote);
    assert.equal(await sha256File(recorded), await sha256File(original(remote)));
  });

  test('stalling player: stream+ finishes saving while the player is still stalled, then feeds it the rest', { timeout: 20_000 }, async () => {
    // The player stops reading after 256 kB until the test creates `release`. If the
    // download were paced by the player, "saved" would never come and the client would
    // be killed by the harness timeout.
    const library = path.join(fx.work, 'lib-stall');
    const recorded = path.join(fx.work, 'recorded-stall');
    const release = path.join(fx.work, 'release-stalled-player');
    const remote = 'Album/big.wav';
    const session = startClient(clientArgs(fx.server.port, library, playerCommand('stalling-player', recorded, 256 * 1024, release)), { timeoutMs: 15_000 });
    session.write(`stream+ ${indexOf(remote)}\n`);
    await session.waitFor('stdout', /^saved Album\/big\.wav /m);
    await assertSaved(library, remote);
    // The player may not even have started writing its recording yet.
    const heard = (await fsp.stat(recorded).catch(() => ({ size: 0 }))).size;
    assert.ok(heard < FILES[remote]!, `the player had read only ${heard} bytes when the file was saved`);
    await fsp.writeFile(release, '');
    const run = await session.end();
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256File(recorded), await sha256File(original(remote)), 'the player got every byte after all');
  });

  test('quitting player: stream+ still saves the whole file and the next command works', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'lib-quit');
    const run = await runClient(
      clientArgs(fx.server.port, library, playerCommand('quitting-player', 100_000)),
      `stream+ ${indexOf('Album/big.wav')}\nget ${indexOf('small.wav')}\n`,
    );
    assert.equal(run.code, 0, describeRun(run));
    await assertSaved(library, 'Album/big.wav');
    await assertSaved(library, 'small.wav');
  });

  test('quitting player: stream+ reports that playback stopped early, not "played"', { timeout: 20_000 }, async () => {
    // Regression: stream+ always said "played PATH", even when the player quit after
    // 100 kB of a 6 MB file.
    const run = await runClient(clientArgs(fx.server.port, path.join(fx.work, 'lib-quit-report'), playerCommand('quitting-player', 100_000)), `stream+ ${indexOf('Album/big.wav')}\n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /playback of Album\/big\.wav stopped early \(the player quit\)/);
    assert.doesNotMatch(run.stdout, /^played /m);
  });

  test('failing player (exits with status 3 at once): stream+ saves the file and reports the failure', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'lib-fail');
    const run = await runClient(clientArgs(fx.server.port, library, playerCommand('failing-player', 3)), `stream+ ${indexOf('Album/big.wav')}\nget ${indexOf('small.wav')}\n`);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /error: playing Album\/big\.wav: the player exited with status 3: failing-player: giving up with status 3$/m);
    await assertSaved(library, 'Album/big.wav');
    await assertSaved(library, 'small.wav');
  });

  test('player not found: stream+ names the player, still saves the file, and exits 1', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'lib-missing');
    const run = await runClient(clientArgs(fx.server.port, library, 'no-such-player-xyz'), `stream+ ${indexOf('Album/big.wav')}\n`);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /player "no-such-player-xyz" not found/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    await assertSaved(library, 'Album/big.wav');
    assert.equal(await exists(path.join(library, 'Album', '.big.wav.part')), false);
  });
});
