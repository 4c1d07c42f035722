import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MpvController, startPlayback, PipePlayback, withStdinAsFile, type Playback } from '../../src/client/player/mpv-controller.js';
import type { Player } from '../../src/client/player.js';
import { isAudioStreamError } from '../../src/protocol/index.js';
import { makeTempDir, removeDir } from './support/files.js';
import { sleep, waitFor } from '../support/wait-for.js';

/**
 * REAL mpv (`--ao=null`: real time, no sound device) steered over its JSON IPC while the
 * file arrives on its stdin, as the client feeds it. Every wait polls mpv with a bound, so
 * a loaded machine makes a test slower, not wrong.
 */
const mpvInstalled = spawnSync('mpv', ['--version'], { stdio: 'ignore' }).status === 0;
const ffmpegInstalled = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
const skip = !mpvInstalled || !ffmpegInstalled ? 'mpv and ffmpeg are needed' : false;

const MPV = ['mpv', '--no-config', '--no-video', '--no-input-terminal', '--msg-level=all=error', '--ao=null', '-'];

function makeTone(file: string, seconds: number): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-ac', '2', file]);
  assert.equal(r.status, 0, `ffmpeg failed: ${r.stderr}`);
}

/** Writes the file (or its first `limit` bytes) into the player's stdin; ends the input only when whole. */
async function feed(player: Player, file: string, limit?: number): Promise<void> {
  const bytes = await fsp.readFile(file);
  const part = limit === undefined ? bytes : bytes.subarray(0, limit);
  for (let at = 0; at < part.length; at += 64 * 1024) {
    if (!(await player.write(part.subarray(at, Math.min(part.length, at + 64 * 1024))))) return;
  }
  if (limit === undefined) player.endInput();
}


async function playing(mpv: MpvController, from = 0.2): Promise<number> {
  return waitFor(`time-pos past ${from}`, 10_000, async () => {
    const t = await mpv.getTimePos();
    return t !== undefined && t > from ? t : undefined;
  });
}

describe('REAL mpv over JSON IPC, audio on stdin', { skip }, () => {
  let work: string;
  let long: string;
  let short: string;
  const running: Playback[] = [];

  before(async () => {
    work = await makeTempDir('mpv-ipc');
    long = path.join(work, 'long.flac');
    short = path.join(work, 'short.flac');
    makeTone(long, 20);
    makeTone(short, 1);
  });
  after(async () => {
    for (const p of running) p.stop();
    await Promise.all(running.map((p) => p.ended));
    await removeDir(work);
  });

  async function start(file?: string, limit?: number): Promise<MpvController> {
    const mpv = await MpvController.start(MPV);
    running.push(mpv);
    if (file) void feed(mpv.player, file, limit);
    return mpv;
  }

  test('pause stops time-pos advancing; resume moves it again', { timeout: 30_000 }, async () => {
    const mpv = await start(long);
    await playing(mpv);
    await mpv.pause();
    assert.equal(await mpv.isPaused(), true);
    const t1 = (await mpv.getTimePos())!;
    await sleep(700);
    const t2 = (await mpv.getTimePos())!;
    assert.ok(Math.abs(t2 - t1) < 0.05, `time-pos moved while paused: ${t1} → ${t2}`);
    await mpv.resume();
    assert.equal(await mpv.isPaused(), false);
    await playing(mpv, t2 + 0.3);
    assert.equal(await mpv.togglePause(), true);
    assert.equal(await mpv.isPaused(), true);
    mpv.stop();
    assert.equal((await mpv.ended).reason, 'stopped');
    assert.equal(mpv.failure(), undefined, 'a player we stopped did not fail');
  });

  test('seek lands within 1 s of the target, absolute and relative, inside what has arrived', { timeout: 30_000 }, async () => {
    const mpv = await start(long);
    await playing(mpv);
    // Wait until the whole file has arrived in mpv's cache (it reads the pipe ahead).
    await waitFor('the file in the cache', 10_000, async () => {
      const s = (await mpv.getProperty('demuxer-cache-state')) as { 'eof-cached'?: boolean } | undefined;
      return s?.['eof-cached'] ? true : undefined;
    });
    // Paused, so that time spent by a loaded machine between seek and check does not count.
    await mpv.pause();
    await mpv.seekTo(12);
    const at12 = (await mpv.getTimePos())!;
    assert.ok(Math.abs(at12 - 12) < 1, `seek 12 landed at ${at12}`);
    await mpv.seekBy(-5);
    const at7 = (await mpv.getTimePos())!;
    assert.ok(Math.abs(at7 - 7) < 1, `seek -5 from ${at12} landed at ${at7}`);
    await mpv.seekTo(-3);
    const at0 = (await mpv.getTimePos())!;
    assert.ok(at0 >= 0 && at0 < 1, `seek before the start is the start: ${at0}`);
  });

  test('a seek past what has arrived says so (SEEK_NOT_BUFFERED) and names what did arrive', { timeout: 30_000 }, async () => {
    const size = (await fsp.stat(long)).size;
    // A quarter of the file, input left open: the rest has "not arrived yet".
    const mpv = await start(long, Math.floor(size / 4));
    await playing(mpv);
    await assert.rejects(mpv.seekTo(18), (err: unknown) => isAudioStreamError(err, 'SEEK_NOT_BUFFERED') && /0:18 has not arrived yet.*\(0:00–0:0\d\)/.test((err as Error).message));
    // Inside what arrived still works.
    await mpv.seekTo(1);
  });

  test('a volume change is seen by mpv; a volume out of range is refused', { timeout: 30_000 }, async () => {
    const mpv = await start(long);
    await mpv.setVolume(35);
    assert.equal(await mpv.getProperty('volume'), 35);
    assert.equal(await mpv.getVolume(), 35);
    await assert.rejects(mpv.setVolume(500), (err: unknown) => isAudioStreamError(err, 'USAGE') && /0 to 130/.test((err as Error).message));
    await assert.rejects(mpv.setVolume(Number.NaN), (err: unknown) => isAudioStreamError(err, 'USAGE'));
    assert.equal(await mpv.getVolume(), 35, 'a refused change changed nothing');
  });

  test('end of file: the end-file event arrives with reason eof, and ended says eof', { timeout: 30_000 }, async () => {
    const mpv = await start();
    const endFile = new Promise<string>((resolve) => mpv.once('end-file', resolve));
    const observed: unknown[] = [];
    await mpv.observe('pause', (v) => observed.push(v));
    await feed(mpv.player, short);
    assert.equal(await endFile, 'eof');
    const end = await mpv.ended;
    assert.equal(end.reason, 'eof');
    assert.equal(end.exit?.code, 0);
    assert.equal(mpv.failure(), undefined);
    assert.deepEqual(observed.slice(0, 1), [false], 'observe gives the current value first');
  });

  test('property observation reports changes, and stops when asked', { timeout: 30_000 }, async () => {
    const mpv = await start(long);
    const seen: unknown[] = [];
    const stop = await mpv.observe('volume', (v) => seen.push(v));
    // mpv coalesces changes that come faster than it reports them: one at a time.
    await mpv.setVolume(20);
    await waitFor('volume 20 reported', 5000, async () => (seen.includes(20) ? true : undefined));
    await mpv.setVolume(60);
    await waitFor('volume 60 reported', 5000, async () => (seen.includes(60) ? true : undefined));
    await stop();
    await mpv.setVolume(70);
    await sleep(200);
    assert.ok(!seen.includes(70), 'no change reported after unobserving');
  });

  test('the control socket lives in a private 0700 folder that is removed when mpv exits', { timeout: 30_000 }, async () => {
    const mpv = await start();
    await mpv.ready;
    const dir = path.dirname(mpv.socketPath);
    assert.equal((await fsp.stat(dir)).mode & 0o777, 0o700);
    mpv.stop();
    await mpv.ended;
    assert.equal(existsSync(dir), false);
    await assert.rejects(mpv.pause(), (err: unknown) => isAudioStreamError(err, 'PLAYER_IPC'));
  });

  test('garbage on stdin: one line saying the format was not recognised (PLAYER_FAILED)', { timeout: 30_000 }, async () => {
    const mpv = await start();
    const junk = Buffer.alloc(20_000, 0x5a);
    await mpv.player.write(junk);
    mpv.player.endInput();
    const end = await mpv.ended;
    assert.equal(end.exit?.code, 2);
    const failure = mpv.failure();
    assert.ok(isAudioStreamError(failure, 'PLAYER_FAILED'), String(failure));
    assert.match(failure.message, /^the player exited with status 2: it could not recognise the audio format/);
  });

  const noSoundCard = !existsSync('/dev/snd');
  test('no sound device (mpv --ao=alsa on a machine without a sound card): PLAYER_NO_AUDIO, one line with what to do', { skip: noSoundCard ? false : 'this machine has a sound card', timeout: 30_000 }, async () => {
    const argv = MPV.map((a) => (a === '--ao=null' ? '--ao=alsa' : a));
    const mpv = await MpvController.start(argv);
    running.push(mpv);
    void feed(mpv.player, short);
    const end = await mpv.ended;
    assert.equal(end.exit?.code, 2);
    assert.ok(mpv.output.seen > 5, `mpv and ALSA printed their lines (${mpv.output.seen})`);
    const failure = mpv.failure();
    assert.ok(isAudioStreamError(failure, 'PLAYER_NO_AUDIO'), String(failure));
    assert.equal(failure.message, 'no audio output could be opened: check the audio output, or try --player "mpv --ao=null" to test');
  });

  test('the advice for no audio works as given: --player "mpv --ao=null" (no "-") reads stdin', { timeout: 30_000 }, async () => {
    const mpv = await MpvController.start(['mpv', '--no-config', '--ao=null']);
    running.push(mpv);
    // Without a file mpv prints its usage and exits 0: only end-file says it played.
    const endFile = new Promise<string>((resolve) => mpv.once('end-file', resolve));
    await feed(mpv.player, short);
    assert.equal(await endFile, 'eof');
    const end = await mpv.ended;
    assert.equal(end.reason, 'eof', mpv.failure()?.message);
    assert.equal(end.exit?.code, 0);
  });

  const ffplay = spawnSync('ffplay', ['-version'], { stdio: 'ignore' }).status === 0;
  test('REAL ffplay without a sound device exits 0 having played nothing: failure() still says PLAYER_NO_AUDIO', { skip: !ffplay ? 'ffplay is not installed' : !noSoundCard ? 'this machine has a sound card' : false, timeout: 30_000 }, async () => {
    const p = await startPlayback(['ffplay', '-nodisp', '-autoexit', '-loglevel', 'error', '-']);
    running.push(p);
    assert.ok(p instanceof PipePlayback);
    await p.player.write(await fsp.readFile(short));
    p.player.endInput();
    const end = await p.ended;
    assert.equal(end.exit?.code, 0);
    const failure = p.failure();
    assert.ok(isAudioStreamError(failure, 'PLAYER_NO_AUDIO'), String(failure));
  });

  test('startPlayback: mpv gets the IPC controller, another player plain controls that say they cannot', { timeout: 30_000 }, async () => {
    const mpv = await startPlayback(MPV);
    running.push(mpv);
    assert.ok(mpv instanceof MpvController);
    assert.equal(mpv.control.canControl, true);
    const other = await startPlayback(['cat']);
    running.push(other);
    assert.ok(other instanceof PipePlayback);
    assert.equal(other.control.canControl, false);
    await assert.rejects(other.control.pause(), (err: unknown) => isAudioStreamError(err, 'PLAYER_UNSUPPORTED') && (err as Error).message === 'this player cannot pause (use mpv for playback controls)');
    await assert.rejects(other.control.seekBy(10), (err: unknown) => isAudioStreamError(err, 'PLAYER_UNSUPPORTED') && /cannot seek/.test((err as Error).message));
    await assert.rejects(other.control.setVolume(10), (err: unknown) => isAudioStreamError(err, 'PLAYER_UNSUPPORTED') && /cannot change the volume/.test((err as Error).message));
    assert.equal(await other.control.getTimePos(), undefined);
    other.player.endInput();
    assert.equal((await other.ended).reason, 'eof');
  });
});

describe('withStdinAsFile', () => {
  test('adds "-" only when no file is named', () => {
    assert.deepEqual(withStdinAsFile(['--ao=null']), ['--ao=null', '-']);
    assert.deepEqual(withStdinAsFile([]), ['-']);
    assert.deepEqual(withStdinAsFile(['--ao=null', '-']), ['--ao=null', '-']);
    assert.deepEqual(withStdinAsFile(['--ao=null', 'file.flac']), ['--ao=null', 'file.flac']);
  });
});
