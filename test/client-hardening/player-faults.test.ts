/**
 * The player never affects saving (docs/SECURITY.md, "The player"). test/client already
 * covers a player that is missing, quits early, fails, or stalls for a while during
 * stream and stream+; these add what was missing: a player that never reads again and is
 * cancelled after the file is saved, and a broken player with plain `get`. The files come
 * from the hostile-server double (v2), serving honest bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getReplyBytes, startHostileServer, v2ListBytes, v2Record, type HostileServer } from '../doubles/hostile-server.js';
import { listFiles, makeTempDir, removeDir } from '../client/support/files.js';
import { playerCommand } from '../client/support/paths.js';
import { clientArgs, describeRun, runClient, startClient } from '../client/support/run-client.js';
import { assertNoStackTrace, makePlace, waitUntil } from './support/checks.js';

const GOOD = randomBytes(3000);
const BIG = randomBytes(6 * 1024 * 1024 + 5);
const FILES: [string, Buffer][] = [
  ['good.wav', GOOD],
  ['Album/big.wav', BIG],
];

let work: string;
let double: HostileServer;
before(async () => {
  work = await makeTempDir('player-faults');
  double = await startHostileServer({
    version: 2,
    list2: (ctx) => void ctx.write(v2ListBytes(FILES.map(([p, b]) => v2Record(p, b.length)))),
    get: (req, ctx) => void ctx.write(getReplyBytes(FILES.find(([p]) => p === req.path)![1], req.offset)),
  });
});
after(async () => {
  await double?.close();
  await removeDir(work);
});

describe('hostile-server double (v2) with a player that stops reading for good', () => {
  test('stream+: the file is saved whole while the player reads nothing; Ctrl-C then stops the player, the file stays, the shell goes on', { timeout: 20_000 }, async () => {
    const place = await makePlace(work, 'never-reads');
    const recorded = path.join(place.dir, 'recorded');
    const never = path.join(place.dir, 'never-created'); // the player waits for this file forever
    const session = startClient(clientArgs(double.port, place.library, playerCommand('stalling-player', recorded, 1, never)), { timeoutMs: 15_000 });
    try {
      session.write('stream+ 1\n');
      await session.waitFor('stdout', /^saved Album\/big\.wav /m);
      assert.ok((await fsp.readFile(path.join(place.library, 'Album', 'big.wav'))).equals(BIG), 'saved whole, not paced by the player');
      await waitUntil('the player has recorded what it read', async () => (await fsp.stat(recorded).catch(() => undefined)) !== undefined);
      assert.ok((await fsp.stat(recorded)).size < BIG.length, 'the player had not read the file');

      process.kill(session.pid, 'SIGINT'); // the shell is waiting for the player: Ctrl-C stops it
      await session.waitFor('stderr', /^cancelled$/m);
      session.write('get 0\n');
      await session.waitFor('stdout', /^saved good\.wav /m);
      const run = await session.end();
      assert.equal(run.code, 1, describeRun(run));
      assert.equal(run.stderr, 'cancelled\n');
      assertNoStackTrace(run);
    } finally {
      await session.end().catch(() => {});
    }
    assert.deepEqual(await listFiles(place.library), ['Album/big.wav', 'good.wav'], 'the saved file stayed; no .part');
    assert.ok((await fsp.readFile(path.join(place.library, 'Album', 'big.wav'))).equals(BIG));
  });
});

describe('hostile-server double (v2): get never uses the player', () => {
  for (const [what, player] of [
    ['a player that is not installed', 'no-such-player-xyz'],
    ['a player that fails at once', playerCommand('failing-player', 3)],
  ] as const) {
    test(`${what}: get saves as usual and the exit status is 0`, { timeout: 20_000 }, async () => {
      const place = await makePlace(work, `get-${what.replace(/\W+/g, '-')}`);
      const run = await runClient(clientArgs(double.port, place.library, player), 'get 1\nget 0\n');
      assert.equal(run.code, 0, describeRun(run));
      assert.equal(run.stderr, '');
      assert.deepEqual(await listFiles(place.library), ['Album/big.wav', 'good.wav']);
    });
  }
});
