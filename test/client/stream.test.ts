import assert from 'node:assert/strict';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { exists, listFiles, sha256File } from './support/files.js';
import { REPO_ROOT, playerCommand } from './support/paths.js';
import { clientArgs, describeRun, runClient, startClient } from './support/run-client.js';
import { randomLibraryServer } from './support/loopback-server.js';

const MB = 1024 * 1024;
const FILES: Record<string, number> = {
  'Album/big.wav': 6 * MB + 3,
  'Album/slow.flac': 3 * MB + 5,
  'small.wav': 20_000,
  'empty.ogg': 0,
  'huge-48.wav': 48 * MB,
  'huge-96.wav': 96 * MB,
};

describe('stream N against a real AudioServer with generated random files', () => {
  const fx = randomLibraryServer('stream', FILES);

  const indexOf = fx.indexOf;
  const original = fx.original;

  for (const remote of ['Album/big.wav', 'small.wav', 'empty.ogg']) {
    test(`recording player: stream of ${remote} delivers byte-identical bytes and saves nothing`, { timeout: 20_000 }, async () => {
      const library = path.join(fx.work, `lib-record-${path.basename(remote)}`);
      const recorded = path.join(fx.work, `recorded-${path.basename(remote)}`);
      const run = await runClient(clientArgs(fx.server.port, library, playerCommand('recording-player', recorded)), `stream ${indexOf(remote)}\n`);
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(await sha256File(recorded), await sha256File(original(remote)), 'the player received the file exactly');
      assert.match(run.stdout, new RegExp(`played ${remote.replace('.', '\\.')}`));
      assert.equal(await exists(library), false, 'stream saves nothing, not even the library directory');
    });
  }

  test('slow player (2 MB/s): stream still delivers byte-identical bytes', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'lib-slow');
    const recorded = path.join(fx.work, 'recorded-slow');
    const remote = 'Album/slow.flac';
    const run = await runClient(clientArgs(fx.server.port, library, playerCommand('slow-player', recorded, 2_000_000)), `stream ${indexOf(remote)}\n`);
    assert.equal(run.code, 0, describeRun(run));
    assert.equal(await sha256File(recorded), await sha256File(original(remote)));
    assert.equal(await exists(library), false);
  });

  test('stalling player: client memory does not grow with the size of the stream (48 MB vs 96 MB)', { timeout: 30_000 }, async (t) => {
    if (!existsSync('/proc/self/status')) {
      t.skip('needs /proc/self/status (Linux) to read the client peak RSS');
      return;
    }
    // Peak RSS of the client process, read by a preload at exit. While the player stalls,
    // the whole file could arrive unless the client stops reading the socket, so an
    // unbounded client's peak grows with the file (measured: +80 MB from 48 to 96 MB with
    // socket.pause() removed). A bounded one has a plateau set by buffers and GC lag
    // (about +35 MB over a tiny file for both sizes), so compare the two sizes, not a
    // fixed budget.
    const preload = pathToFileURL(path.join(REPO_ROOT, 'test', 'fixtures', 'report-peak-rss.mjs')).href;
    const peakRss = async (remote: string): Promise<number> => {
      const tag = path.basename(remote);
      const rssFile = path.join(fx.work, `peak-rss-${tag}`);
      const recorded = path.join(fx.work, `recorded-stall-${tag}`);
      const run = await runClient(
        clientArgs(fx.server.port, path.join(fx.work, 'lib-stall'), playerCommand('stalling-player', recorded, 256 * 1024, 1500)),
        `stream ${indexOf(remote)}\n`,
        { nodeArgs: ['--import', preload], env: { AS_TEST_PEAK_RSS_FILE: rssFile }, timeoutMs: 25_000 },
      );
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(await sha256File(recorded), await sha256File(original(remote)), `${remote} arrived intact`);
      await fsp.rm(recorded);
      const kB = Number(await fsp.readFile(rssFile, 'utf8'));
      assert.ok(kB > 0, 'the preload reported a peak RSS');
      return kB * 1024;
    };
    const tiny = await peakRss('small.wav');
    const half = await peakRss('huge-48.wav');
    const full = await peakRss('huge-96.wav');
    const mb = (n: number): string => `${(n / MB).toFixed(1)} MB`;
    t.diagnostic(`client peak RSS: ${mb(tiny)} (20 kB file), ${mb(half)} (48 MB), ${mb(full)} (96 MB)`);
    assert.ok(full - half < 16 * MB, `peak RSS grew by ${mb(full - half)} when the stream grew by 48 MB`);
    assert.ok(full - tiny < 48 * MB, `peak RSS for a 96 MB stream is ${mb(full - tiny)} above that for 20 kB`);
  });

  test('stalling player: SIGINT cancels the stream, the shell goes on, and the exit status is 1', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'lib-cancel');
    const recorded = path.join(fx.work, 'recorded-cancel');
    const release = path.join(fx.work, 'release-never'); // never created: the player stays stalled
    const session = startClient(clientArgs(fx.server.port, library, playerCommand('stalling-player', recorded, 256 * 1024, release)), { timeoutMs: 15_000 });
    session.write(`stream ${indexOf('Album/big.wav')}\n`);
    // Wait (by polling, not by a fixed delay) until the player has stalled mid-file.
    while (((await fsp.stat(recorded).catch(() => undefined))?.size ?? 0) < 256 * 1024) await sleep(20);
    process.kill(session.pid, 'SIGINT');
    await session.waitFor('stderr', /^cancelled$/m);
    session.write(`get ${indexOf('small.wav')}\n`);
    await session.waitFor('stdout', /^saved small\.wav /m);
    const run = await session.end();
    assert.equal(run.code, 1, describeRun(run));
    assert.equal(run.stderr, 'cancelled\n');
    assert.doesNotMatch(run.stdout, /played/);
    assert.deepEqual(await listFiles(library), ['small.wav']);
  });

  test('quitting player: stream reports the early stop and the next command on the session works', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'lib-quit');
    const recorded = path.join(fx.work, 'recorded-quit');
    const limit = 100_000;
    const run = await runClient(
      clientArgs(fx.server.port, library, playerCommand('quitting-player', limit, recorded)),
      `stream ${indexOf('Album/big.wav')}\nget ${indexOf('small.wav')}\nstream ${indexOf('small.wav')}\n`,
    );
    assert.equal(run.code, 0, describeRun(run));
    assert.match(run.stdout, /playback of Album\/big\.wav stopped early \(the player quit\)/);
    assert.equal(await sha256File(path.join(library, 'small.wav')), await sha256File(original('small.wav')), 'the following get worked');
    assert.match(run.stdout, /played small\.wav/, 'the stream after it worked too');
    assert.deepEqual(await listFiles(library), ['small.wav'], 'stream saved nothing');
  });

  test('quitting player, four sessions at once: every stream reports the early stop', { timeout: 20_000 }, async () => {
    // Regression for the same race as in play-body.test.ts, end to end: under load the
    // body could end before the player's 'exit' event, and the stream was called "played".
    const sessions = Array.from({ length: 4 }, (_, n) =>
      runClient(
        clientArgs(fx.server.port, path.join(fx.work, `lib-quit-busy-${n}`), playerCommand('quitting-player', 100_000)),
        `stream ${indexOf('Album/big.wav')}\n`.repeat(5),
      ),
    );
    for (const run of await Promise.all(sessions)) {
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(run.stdout.match(/^playback of Album\/big\.wav stopped early \(the player quit\)$/gm)?.length, 5, describeRun(run));
    }
  });

  test('quitting player: the bytes it did take are the start of the file', { timeout: 20_000 }, async () => {
    const recorded = path.join(fx.work, 'recorded-quit-prefix');
    const limit = 300_000;
    const run = await runClient(clientArgs(fx.server.port, path.join(fx.work, 'lib-quit-prefix'), playerCommand('quitting-player', limit, recorded)), `stream ${indexOf('Album/big.wav')}\n`);
    assert.equal(run.code, 0, describeRun(run));
    const head = Buffer.alloc(limit);
    const fh = await fsp.open(original('Album/big.wav'), 'r');
    try {
      await fh.read(head, 0, limit, 0);
    } finally {
      await fh.close();
    }
    assert.equal(sha256(await fsp.readFile(recorded)), sha256(head));
  });

  test('failing player (exits with status 3 at once): stream of a file bigger than the pipe is an error, not "stopped early"', { timeout: 20_000 }, async () => {
    // Regression: the player died before the pipe filled, so the client took it for a user
    // quitting early and reported success (exit status 0).
    const library = path.join(fx.work, 'lib-fail');
    const run = await runClient(clientArgs(fx.server.port, library, playerCommand('failing-player', 3)), `stream ${indexOf('Album/big.wav')}\nget ${indexOf('small.wav')}\n`);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /error: playing Album\/big\.wav: the player exited with status 3: failing-player: giving up with status 3$/m);
    assert.doesNotMatch(run.stdout, /stopped early/);
    assert.ok(await exists(path.join(library, 'small.wav')), 'the next command still works');
  });

  test('failing player (exits with status 3 at once): stream of a small file is an error', { timeout: 20_000 }, async () => {
    const run = await runClient(clientArgs(fx.server.port, path.join(fx.work, 'lib-fail-small'), playerCommand('failing-player', 3)), `stream ${indexOf('small.wav')}\n`);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /error: playing small\.wav: the player exited with status 3: failing-player: giving up with status 3$/m);
  });

  test('player not found: stream prints a message naming the player and exits non-zero', { timeout: 20_000 }, async () => {
    const library = path.join(fx.work, 'lib-missing');
    const run = await runClient(clientArgs(fx.server.port, library, 'no-such-player-xyz --some-flag'), `stream ${indexOf('small.wav')}\n`);
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /player "no-such-player-xyz" not found/);
    assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(await exists(library), false);
  });

  test('player not found: the default mpv missing from PATH says how to install it', { timeout: 20_000 }, async () => {
    const emptyPath = path.join(fx.work, 'empty-path');
    await fsp.mkdir(emptyPath, { recursive: true });
    const run = await runClient(clientArgs(fx.server.port, path.join(fx.work, 'lib-no-mpv')), `stream ${indexOf('small.wav')}\n`, { env: { PATH: emptyPath } });
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /mpv not found: install it .* or pass --player/);
  });

  test('recording player named by AS_PLAYER is used when --player is absent; --player wins over it', { timeout: 20_000 }, async () => {
    const fromEnv = path.join(fx.work, 'recorded-env');
    const fromFlag = path.join(fx.work, 'recorded-flag');
    const env = { AS_PLAYER: playerCommand('recording-player', fromEnv) };
    const first = await runClient(clientArgs(fx.server.port, path.join(fx.work, 'lib-env')), `stream ${indexOf('small.wav')}\n`, { env });
    assert.equal(first.code, 0, describeRun(first));
    assert.equal(await sha256File(fromEnv), await sha256File(original('small.wav')));
    await fsp.rm(fromEnv);
    const second = await runClient(clientArgs(fx.server.port, path.join(fx.work, 'lib-env'), playerCommand('recording-player', fromFlag)), `stream ${indexOf('small.wav')}\n`, { env });
    assert.equal(second.code, 0, describeRun(second));
    assert.ok(await exists(fromFlag), '--player was used');
    assert.equal(await exists(fromEnv), false, 'AS_PLAYER was not');
  });
});

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
