import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MpvController } from '../../src/client/player/mpv-controller.js';
import { PlayerLauncher } from '../../src/client/player/player-launcher.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { makeTempDir, removeDir } from './support/files.js';

const skip = spawnSync('mpv', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0 ? false : 'mpv and ffmpeg are needed';
const MPV = ['mpv', '--no-config', '--no-video', '--msg-level=all=error', '--ao=null', '-'];

describe('PlayerLauncher with REAL mpv: one player kept ready for the next track', { skip }, () => {
  let work: string;
  let tone: string;
  before(async () => {
    work = await makeTempDir('launcher');
    tone = path.join(work, 'tone.flac');
    assert.equal(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', tone]).status, 0);
  });
  after(async () => {
    await removeDir(work);
  });

  test('take() hands out the spare started earlier and starts another; a spare left waiting still plays', { timeout: 40_000 }, async () => {
    const launcher = new PlayerLauncher(MPV);
    launcher.prepare();
    const first = await launcher.take();
    assert.ok(first instanceof MpvController);
    await first.ready;
    // The spare waits on its stdin; give it a while before it is used.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const second = await launcher.take();
    assert.notEqual(second, first);
    assert.equal(second.player.hasExited, false, 'the spare was alive and waiting');
    const bytes = await fsp.readFile(tone);
    await second.player.write(bytes);
    second.player.endInput();
    assert.equal((await second.ended).reason, 'eof', second.failure()?.message);
    first.stop();
    await first.ended;
    await launcher.close();
  });

  test('a spare that died meanwhile is replaced, not handed out; close() stops the spare', { timeout: 40_000 }, async () => {
    const launcher = new PlayerLauncher(MPV);
    const first = await launcher.take();
    // The spare started behind `first`: kill it from outside, as a crash would.
    const spare = await (launcher as unknown as { spare: Promise<MpvController> }).spare;
    spare.stop();
    await spare.ended;
    const next = await launcher.take();
    assert.notEqual(next, spare);
    assert.equal(next.player.hasExited, false);
    const nextSpare = await (launcher as unknown as { spare: Promise<MpvController> }).spare;
    await launcher.close();
    assert.equal(nextSpare.player.hasExited, true, 'close() stopped the spare');
    for (const p of [first, next]) {
      p.stop();
      await p.ended;
    }
    await assert.rejects(launcher.take(), /closed/);
  });

  test('a player that is not installed is reported when taken (PLAYER_NOT_FOUND), not when the spare failed', { timeout: 20_000 }, async () => {
    const launcher = new PlayerLauncher(['no-such-player-program-xyz', '-']);
    launcher.prepare();
    await assert.rejects(launcher.take(), (err: unknown) => isAudioStreamError(err, 'PLAYER_NOT_FOUND'));
    await launcher.close();
  });
});
