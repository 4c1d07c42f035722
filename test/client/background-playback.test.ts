import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ClientConnection, LocalLibrary, Shell, parsePlayerCommand } from '../../src/client/index.js';
import { MpvController } from '../../src/client/player/mpv-controller.js';
import { makeTempDir, removeDir, sha256File } from './support/files.js';
import { indexesByPath, startServer, type RunningServer } from './support/loopback-server.js';
import { playerCommand } from './support/paths.js';
import { sleep, waitFor } from '../support/wait-for.js';

/**
 * The shell as a music player: `play`, `add`, `next`, `pause`, `seek`, `vol`... run while
 * the music plays in the background, against a real server on loopback. REAL mpv
 * (`--ao=null`: real time, no sound device) for the controls, read back from mpv itself over
 * its IPC; a recording stand-in player (named so) where the bytes a player received are
 * compared with the file. Every wait polls with a bound: a loaded machine is slower, not wrong.
 */
const mpvInstalled = spawnSync('mpv', ['--version'], { stdio: 'ignore' }).status === 0;
const ffmpegInstalled = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
const skip = !mpvInstalled || !ffmpegInstalled ? 'mpv and ffmpeg are needed' : false;

const MPV = ['mpv', '--no-config', '--no-video', '--msg-level=all=error', '--ao=null'];

function makeTone(file: string, seconds: number, title: string): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-ac', '2', '-metadata', `title=${title}`, '-metadata', 'artist=Test Tones', file]);
  assert.equal(r.status, 0, `ffmpeg failed: ${r.stderr}`);
}


/** An in-process shell on a real server, with what it printed. */
class TestShell {
  readonly shell: Shell;
  readonly output = new PassThrough();
  readonly errors = new PassThrough();
  stdout = '';
  stderr = '';

  constructor(port: number, library: string, player: string[]) {
    this.output.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.errors.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.shell = new Shell({
      connection: new ClientConnection({ host: '127.0.0.1', port }),
      playbackConnection: new ClientConnection({ host: '127.0.0.1', port }),
      library: new LocalLibrary(library),
      player,
      input: Readable.from([]),
      output: this.output,
      errors: this.errors,
      interactive: false,
    });
  }

  async run(line: string): Promise<void> {
    await this.shell.execute(line);
  }

  /** The mpv playing now. */
  mpv(): MpvController {
    const current = this.shell.background.current;
    assert.ok(current instanceof MpvController, `mpv plays (stdout: ${this.stdout}; stderr: ${this.stderr})`);
    return current;
  }

  async close(): Promise<void> {
    await this.shell.background.close();
  }
}

async function timeAfter(mpv: MpvController, from: number): Promise<number> {
  return waitFor(`time-pos past ${from}`, 15_000, async () => {
    const t = await mpv.getTimePos().catch(() => undefined);
    return t !== undefined && t > from ? t : undefined;
  });
}

describe('play in the background with REAL mpv over IPC (--ao=null)', { skip }, () => {
  let work: string;
  let server: RunningServer;
  let indexes: Map<string, number>;
  const shells: TestShell[] = [];

  before(async () => {
    work = await makeTempDir('background-play');
    const dir = path.join(work, 'server');
    await fsp.mkdir(path.join(dir, 'Tones'), { recursive: true });
    makeTone(path.join(dir, 'Tones', 'long.flac'), 30, 'Long Tone');
    makeTone(path.join(dir, 'Tones', 'short.flac'), 6, 'Short Tone');
    server = await startServer(dir);
    // The server reads tags after it starts listing: wait until it shows them.
    await waitFor('the tags listed', 15_000, async () => {
      const c = new ClientConnection({ host: '127.0.0.1', port: server.port });
      try {
        const { entries } = await c.list();
        return entries.every((e) => e.title) ? true : undefined;
      } finally {
        c.close();
      }
    });
    indexes = await indexesByPath(server.port);
  });
  after(async () => {
    await Promise.all(shells.map((s) => s.close()));
    await server.close();
    await removeDir(work);
  });

  function shell(player = MPV): TestShell {
    const s = new TestShell(server.port, path.join(work, `lib-${shells.length}`), player);
    shells.push(s);
    return s;
  }
  const long = (): number => indexes.get('Tones/long.flac')!;
  const short = (): number => indexes.get('Tones/short.flac')!;

  test('the shell answers at once while the track plays; pause stops time-pos, resume moves it', async () => {
    const s = shell();
    const started = performance.now();
    await s.run(`play ${long()}`);
    assert.ok(performance.now() - started < 5_000, 'play returns without waiting for the track');
    const mpv = s.mpv();
    await timeAfter(mpv, 0.3);
    await s.run('list');
    assert.match(s.stdout, /Long Tone/);
    await s.run('pause');
    assert.equal(await mpv.isPaused(), true);
    // mpv says "paused" at once, but the position can move once more as what was already
    // decoded drains (seen under load): read it after that has settled.
    await sleep(300);
    const t1 = (await mpv.getTimePos())!;
    await sleep(700);
    const t2 = (await mpv.getTimePos())!;
    assert.ok(Math.abs(t2 - t1) < 0.05, `time-pos stood still while paused (${t1} → ${t2})`);
    await s.run('status');
    assert.match(s.stdout, /Long Tone — Test Tones {3}\d:\d\d \/ 0:30 {3}paused {3}\[1\/1\]/);
    await s.run('resume');
    await timeAfter(mpv, t2 + 0.3);
    await s.run('toggle');
    assert.equal(await mpv.isPaused(), true);
    assert.match(s.stdout, /^paused$/m);
    assert.equal(s.stderr, '');
  });

  test('seek 20, seek -5 and seek 0:12 land within 1 s of the target, as mpv reports it', async () => {
    const s = shell();
    await s.run(`play ${long()}`);
    const mpv = s.mpv();
    await timeAfter(mpv, 0.2);
    // The whole file reaches mpv's cache within moments; until then a seek says what has arrived.
    await waitFor('a seek to 20 s', 15_000, async () => {
      const before = s.stderr;
      await s.run('seek 20');
      if (s.stderr !== before) {
        assert.match(s.stderr, /has not arrived yet/);
        return undefined;
      }
      return true;
    });
    const at20 = (await mpv.getTimePos())!;
    assert.ok(Math.abs(at20 - 20) < 1, `seek 20 landed at ${at20}`);
    await s.run('seek -5');
    const back = (await mpv.getTimePos())!;
    assert.ok(Math.abs(back - (at20 - 5)) < 1, `seek -5 from ${at20} landed at ${back}`);
    await s.run('seek 0:12');
    const at12 = (await mpv.getTimePos())!;
    assert.ok(Math.abs(at12 - 12) < 1, `seek 0:12 landed at ${at12}`);
    assert.match(s.stdout, /^at 0:1\d \/ 0:30$/m);
    await s.run('seek soon');
    assert.match(s.stderr, /error: say where to: seek \+10, seek -10, seek 1:30 or seek 90\n/);
  });

  test('vol 35 is seen by mpv; a volume out of range is refused in one line', async () => {
    const s = shell();
    await s.run(`play ${long()}`);
    const mpv = s.mpv();
    await timeAfter(mpv, 0.1);
    await s.run('vol 35');
    assert.equal(await mpv.getProperty('volume'), 35);
    assert.match(s.stdout, /^volume 35$/m);
    await s.run('vol 500');
    assert.match(s.stderr, /^error: the volume goes from 0 to 130: for example, vol 50$/m);
    assert.equal(await mpv.getProperty('volume'), 35);
  });

  test('next plays the next queued file, prev the one before; a track that ends starts the next by itself', async () => {
    const s = shell();
    await s.run(`play ${long()} ${short()}`);
    let mpv = s.mpv();
    await timeAfter(mpv, 0.1);
    assert.ok(Math.abs((await mpv.getDuration())! - 30) < 0.5, 'the long tone plays first');
    await s.run('next');
    mpv = s.mpv();
    await timeAfter(mpv, 0.1);
    assert.ok(Math.abs((await mpv.getDuration())! - 6) < 0.5, 'next: the short tone plays');
    await s.run('status');
    assert.match(s.stdout, /Short Tone — Test Tones {3}\d:\d\d \/ 0:06 {3}\[2\/2\]/);
    await s.run('prev');
    mpv = s.mpv();
    await timeAfter(mpv, 0.1);
    assert.ok(Math.abs((await mpv.getDuration())! - 30) < 0.5, 'prev: the long tone again');
    // To 2 s before its end: it ends by itself and the short tone follows.
    await waitFor('a seek near the end', 15_000, async () => {
      const before = s.stderr;
      await s.run('seek 28');
      return s.stderr === before ? true : undefined;
    });
    await waitFor('the short tone after the long one ended', 15_000, async () => {
      const d = await s.shell.background.current?.control.getDuration().catch(() => undefined);
      return d !== undefined && Math.abs(d - 6) < 0.5 ? true : undefined;
    });
    assert.match(s.stdout, /^played Tones\/long\.flac$/m);
    assert.match(s.stdout, /^playing \[2\/2\] Short Tone — Test Tones$/m);
    await s.run('queue');
    assert.match(s.stdout, /^ {2}1 {2}Long Tone — Test Tones {2}\(file \d\)\n> 2 {2}Short Tone — Test Tones {2}\(file \d\)$/m);
    await s.run('stop');
    assert.equal(s.shell.background.current, undefined);
    await s.run('pause');
    assert.match(s.stderr, /^error: nothing is playing: type play, or next to go on with the queue$/m);
  });

  test('play find WORDS and play FOLDER choose like find and get; add appends', async () => {
    const s = shell();
    await s.run('play find short');
    await timeAfter(s.mpv(), 0.05);
    assert.deepEqual(s.shell.background.queue.entries.map((e) => e.path), ['Tones/short.flac']);
    await s.run('add Tones');
    assert.match(s.stdout, /^added 2 files \(the queue has 3 files\)$/m);
    await s.run('play find nothing-like-this');
    assert.match(s.stderr, /^error: no file matches nothing-like-this$/m);
    await s.run('play');
    assert.match(s.stderr, /^error: say which files: play 3, play 3 5 7, play 3-9, play all, or play FOLDER$/m);
  });
});

describe('play with a player other than mpv (stand-ins, named so)', () => {
  let work: string;
  let server: RunningServer;
  let indexes: Map<string, number>;
  const sizes = { 'a/one.mp3': 300_000, 'a/two.mp3': 1_200_000, 'b/three.mp3': 50_000 };

  before(async () => {
    work = await makeTempDir('background-pipe');
    const dir = path.join(work, 'server');
    const { writeRandomLibrary } = await import('./support/files.js');
    await writeRandomLibrary(dir, sizes);
    server = await startServer(dir);
    indexes = await indexesByPath(server.port);
  });
  after(async () => {
    await server.close();
    await removeDir(work);
  });

  async function recorded(dir: string): Promise<{ file: string; bytes: number }[]> {
    const log = await fsp.readFile(path.join(dir, 'LOG'), 'utf8').catch(() => '');
    return log.split('\n').filter(Boolean).map((l) => {
      const [file, bytes] = l.split(' ');
      return { file: file!, bytes: Number(bytes) };
    });
  }

  test('a queue played by a recording stand-in: each player got exactly its file, in order', async () => {
    const rec = path.join(work, 'rec1');
    await fsp.mkdir(rec);
    const s = new TestShell(server.port, path.join(work, 'lib1'), parsePlayerCommand(playerCommand('queue-recording-player', rec)));
    try {
      await s.run('play all');
      await s.shell.background.idle();
      const got = await recorded(rec);
      const order = [...indexes.entries()].sort((x, y) => x[1] - y[1]).map(([p]) => p);
      assert.equal(got.length, order.length, s.stderr);
      for (const [i, p] of order.entries()) {
        assert.equal(await sha256File(got[i]!.file), await sha256File(path.join(work, 'server', p)), `track ${i + 1} is ${p}`);
      }
      assert.match(s.stdout, /\(end of the queue\)\n$/);
    } finally {
      await s.close();
    }
  });

  test('next stops the stand-in that is still "playing" and the next one receives the next file', async () => {
    const rec = path.join(work, 'rec2');
    await fsp.mkdir(rec);
    const s = new TestShell(server.port, path.join(work, 'lib2'), parsePlayerCommand(playerCommand('queue-recording-player', rec, 60_000)));
    try {
      const two = indexes.get('a/two.mp3')!;
      const three = indexes.get('b/three.mp3')!;
      await s.run(`play ${two} ${three}`);
      await waitFor('the first file recorded', 15_000, async () => ((await recorded(rec)).length === 1 ? true : undefined));
      await s.run('next');
      const got = await waitFor('the second file recorded', 15_000, async () => {
        const r = await recorded(rec);
        return r.length === 2 ? r : undefined;
      });
      const digest = async (f: string): Promise<string> => createHash('sha256').update(await fsp.readFile(f)).digest('hex');
      assert.equal(await digest(got[0]!.file), await digest(path.join(work, 'server', 'a/two.mp3')));
      assert.equal(await digest(got[1]!.file), await digest(path.join(work, 'server', 'b/three.mp3')));
      // The controls this player cannot do say so, in one line each.
      for (const c of ['pause', 'seek +10', 'vol 50']) await s.run(c);
      assert.match(s.stderr, /^error: this player cannot pause \(use mpv for playback controls\)\nerror: this player cannot seek \(use mpv for playback controls\)\nerror: this player cannot change the volume \(use mpv for playback controls\)\n$/);
      await s.run('status');
      assert.match(s.stdout, /^three\.mp3 {3}--:-- {3}\[2\/2\]$/m);
    } finally {
      await s.close();
    }
  });
});
