import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTempDir, removeDir } from './support/files.js';
import { indexesByPath, startServer, type RunningServer } from './support/loopback-server.js';
import { clientArgs, describeRun, runClient } from './support/run-client.js';

/**
 * The default player (REAL mpv) on a machine without a sound device: ALSA, JACK and
 * PipeWire print about 30 lines between them; the user gets one, saying what to do.
 * Only where there really is no sound device (CI); elsewhere mpv would play.
 */
const mpvInstalled = spawnSync('mpv', ['--version'], { stdio: 'ignore' }).status === 0;
const ffmpegInstalled = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
const hasSound = existsSync('/dev/snd') || Boolean(process.env.PULSE_SERVER) || existsSync(path.join(process.env.XDG_RUNTIME_DIR ?? '/nonexistent', 'pulse'));
const skip = !mpvInstalled || !ffmpegInstalled ? 'mpv and ffmpeg are needed' : hasSound ? 'this machine has a sound device' : false;

const NO_AUDIO = 'no audio output could be opened: check the audio output, or try --player "mpv --ao=null" to test';

describe('the default player without a sound device (REAL mpv)', { skip }, () => {
  let work: string;
  let server: RunningServer;
  let indexes: Map<string, number>;

  before(async () => {
    work = await makeTempDir('no-audio');
    const dir = path.join(work, 'server');
    for (const name of ['one', 'two']) {
      spawnSync('mkdir', ['-p', dir]);
      const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=2', path.join(dir, `${name}.flac`)]);
      assert.equal(r.status, 0, String(r.stderr));
    }
    server = await startServer(dir);
    indexes = await indexesByPath(server.port);
  });
  after(async () => {
    await server.close();
    await removeDir(work);
  });

  test('stream N: one line, what happened and what to do', { timeout: 30_000 }, async () => {
    const run = await runClient(clientArgs(server.port, path.join(work, 'lib1')), `stream ${indexes.get('one.flac')}\n`);
    assert.equal(run.code, 1, describeRun(run));
    assert.equal(run.stderr, `error: playing one.flac: ${NO_AUDIO}\n`);
  });

  test('play of a queue: one line, and the queue stops instead of failing on every track', { timeout: 30_000 }, async () => {
    const run = await runClient(clientArgs(server.port, path.join(work, 'lib2')), 'play all\n');
    assert.equal(run.code, 1, describeRun(run));
    assert.equal(run.stderr, `error: playing one.flac: ${NO_AUDIO}\n`);
    assert.match(run.stdout, /^playing \[1\/2\] one\.flac\n\(end of the queue\)\n$/);
  });
});
