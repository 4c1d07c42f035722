import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { MpvController } from '../../src/client/player/mpv-controller.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { REPO_ROOT } from './support/paths.js';

/**
 * A STAND-IN for mpv's IPC (test/fixtures/players/misbehaving-mpv.mjs): real mpv cannot be
 * made to stop answering or to send a broken line. The client must give one PLAYER_IPC
 * error and never hang.
 */
const FAKE = path.join(REPO_ROOT, 'test/fixtures/players/misbehaving-mpv.mjs');

async function startFake(mode: string, requestTimeoutMs = 400): Promise<MpvController> {
  process.env.AS_FAKE_MPV_MODE = mode;
  try {
    return await MpvController.start([FAKE], { requestTimeoutMs });
  } finally {
    delete process.env.AS_FAKE_MPV_MODE;
  }
}

describe('MpvController against a misbehaving stand-in for mpv', () => {
  const started: MpvController[] = [];
  after(async () => {
    for (const m of started) m.stop();
    await Promise.all(started.map((m) => m.ended));
  });

  test('STAND-IN that never answers: each command fails after the request timeout with PLAYER_IPC', { timeout: 20_000 }, async () => {
    const mpv = await startFake('silent');
    started.push(mpv);
    const t0 = performance.now();
    await assert.rejects(mpv.pause(), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC') && /did not answer "set_property" within 0.4 s/.test((err as Error).message));
    assert.ok(performance.now() - t0 < 5000);
  });

  test('STAND-IN sending an overlong line: PLAYER_IPC, and the connection is not used again', { timeout: 20_000 }, async () => {
    const mpv = await startFake('overlong', 5000);
    started.push(mpv);
    await assert.rejects(mpv.getTimePos(), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC') && /longer than 262144 bytes/.test((err as Error).message));
    await assert.rejects(mpv.isPaused(), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC'));
  });

  test('STAND-IN sending a line that is not JSON: PLAYER_IPC', { timeout: 20_000 }, async () => {
    const mpv = await startFake('garbage', 5000);
    started.push(mpv);
    await assert.rejects(mpv.getVolume(), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC') && /not JSON/.test((err as Error).message));
  });

  test('STAND-IN sending a reply nobody asked for: ignored, the real answer still arrives', { timeout: 20_000 }, async () => {
    const mpv = await startFake('stray', 5000);
    started.push(mpv);
    assert.equal(await mpv.getTimePos(), 42);
    assert.equal(await mpv.getDuration(), 42);
  });
});
