/**
 * Scenario 8's measurements, in a fresh process so that its CPU and memory are its own:
 *
 *   node player-ipc-child.js first-byte FILE RUNS   start mpv and feed FILE; times per run, cold
 *                                                   (mpv started on `play`) and warm (an mpv
 *                                                   started beforehand, its socket connected)
 *   node player-ipc-child.js idle FILE SECONDS      mpv plays FILE; we poll it once a second
 *   node player-ipc-child.js queue FILE TRACKS      TRACKS tracks one after another (untimed)
 *   node player-ipc-child.js play PORT PATH RUNS [LOCAL]
 *                                                   `play N` as the shell does it (BackgroundPlayer):
 *                                                   PATH fetched from the server on PORT over v2, or
 *                                                   LOCAL played as its local copy; per run, from
 *                                                   play() to the first bytes taken by mpv's stdin
 *                                                   and to its audio output starting
 *   node player-ipc-child.js play-queue PORT PATH TRACKS
 *                                                   a queue of TRACKS plays of PATH, each streamed
 *                                                   from the server (untimed); RSS after each
 *
 * Prints one JSON object. mpv runs with --ao=null (real time, no sound device) except in
 * `queue`, which adds --ao-null-untimed so that a hundred tracks take seconds.
 */
import { promises as fsp } from 'node:fs';
import { BackgroundPlayer, type TrackSource } from '../src/client/background-player.js';
import { ClientConnection, type RemoteEntry } from '../src/client/client-connection.js';
import { Player } from '../src/client/player.js';
import { MpvController } from '../src/client/player/mpv-controller.js';

const MPV = ['mpv', '--no-config', '--no-video', '--no-input-terminal', '--msg-level=all=error', '--ao=null', '-'];
const CHUNK = 256 * 1024;
/** The first read is small, so that the pipe takes it whole before mpv has even started reading. */
const FIRST_CHUNK = 16 * 1024;

async function feedFile(mpv: MpvController, file: string, onFirstByte?: () => void): Promise<void> {
  const handle = await fsp.open(file, 'r');
  try {
    for (let at = 0; ; ) {
      const size = at === 0 ? FIRST_CHUNK : CHUNK;
      const chunk = Buffer.allocUnsafe(size);
      const { bytesRead } = await handle.read(chunk, 0, size, at);
      if (bytesRead === 0) break;
      const first = at === 0;
      at += bytesRead;
      if (!(await mpv.player.write(chunk.subarray(0, bytesRead), first ? onFirstByte : undefined))) return;
    }
    mpv.player.endInput();
  } finally {
    await handle.close();
  }
}

function waitForEvent(mpv: MpvController, name: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (m: { event: string }): void => {
      if (m.event !== name) return;
      mpv.off('event', on);
      resolve();
    };
    mpv.on('event', on);
  });
}

interface FirstByteRun {
  /** From `play` until the pipe took the first bytes. */
  firstByteMs: number;
  /** Until mpv had read enough to open the file (its file-loaded event). */
  fileLoadedMs: number;
  /** Until mpv started the audio output (its playback-restart event). */
  audioMs: number;
}

async function oneRun(warm: boolean, file: string): Promise<FirstByteRun> {
  let mpv: MpvController | undefined;
  if (warm) {
    mpv = await MpvController.start(MPV);
    await mpv.ready;
  }
  const t0 = performance.now();
  mpv ??= await MpvController.start(MPV);
  let firstByteAt = 0;
  const loaded = waitForEvent(mpv, 'file-loaded').then(() => performance.now());
  const restarted = waitForEvent(mpv, 'playback-restart').then(() => performance.now());
  void feedFile(mpv, file, () => (firstByteAt = performance.now()));
  const [fileLoadedAt, audioAt] = await Promise.all([loaded, restarted]);
  mpv.stop();
  await mpv.ended;
  return { firstByteMs: firstByteAt - t0, fileLoadedMs: fileLoadedAt - t0, audioMs: audioAt - t0 };
}

async function firstByte(file: string, runs: number): Promise<unknown> {
  const cold: FirstByteRun[] = [];
  const warm: FirstByteRun[] = [];
  // Interleaved, so that a busy moment of the machine falls on both alike.
  for (let i = 0; i < runs; i++) {
    cold.push(await oneRun(false, file));
    warm.push(await oneRun(true, file));
  }
  return { cold, warm };
}

async function idle(file: string, seconds: number): Promise<unknown> {
  const mpv = await MpvController.start(MPV);
  void feedFile(mpv, file);
  await waitForEvent(mpv, 'playback-restart');
  // Settle: the pipe is drained into mpv's cache within the first second.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rssStart = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let polls = 0;
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    // What a now-playing line reads each second.
    await Promise.all([mpv.getTimePos(), mpv.getDuration(), mpv.isPaused()]);
    polls++;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const timePos = await mpv.getTimePos();
  mpv.stop();
  await mpv.ended;
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, polls, timePos, rssStart, rssEnd: process.memoryUsage().rss };
}

async function queue(file: string, tracks: number): Promise<unknown> {
  const rss: number[] = [];
  const untimed = [...MPV.slice(0, -1), '--ao-null-untimed', '-'];
  for (let i = 0; i < tracks; i++) {
    const mpv = await MpvController.start(untimed);
    const seen: unknown[] = [];
    await mpv.observe('time-pos', (v) => seen.push(v)).catch(() => {});
    await feedFile(mpv, file);
    const end = await mpv.ended;
    if (end.reason !== 'eof') throw new Error(`track ${i} ended with ${end.reason}: ${mpv.failure()?.message ?? ''}`);
    rss.push(process.memoryUsage().rss);
  }
  return { tracks, rss };
}

/**
 * When each player's pipe first took bytes. The BackgroundPlayer feeds its players itself, so
 * this bench-only wrapper around Player.write sees it without a hook in the client's code.
 */
const firstBytesAt = new WeakMap<Player, number>();
const playerWrite = Player.prototype.write;
Player.prototype.write = function (this: Player, chunk: Buffer, onWritten?: () => void): Promise<boolean> {
  return playerWrite.call(this, chunk, () => {
    if (!firstBytesAt.has(this)) firstBytesAt.set(this, performance.now());
    onWritten?.();
  });
};

async function serverEntry(connection: ClientConnection, remotePath: string): Promise<RemoteEntry> {
  const { entries } = await connection.list();
  const entry = entries.find((e) => e.path === remotePath);
  if (!entry) throw new Error(`the server does not list ${remotePath}`);
  return entry;
}

function backgroundPlayer(connection: ClientConnection, argv: string[], source: TrackSource, onFinished?: () => void): BackgroundPlayer {
  return new BackgroundPlayer({
    argv,
    connection,
    sourceFor: () => Promise.resolve(source),
    onTrack: (e) => e.kind === 'finished' && onFinished?.(),
    onError: (err, context) => {
      process.stderr.write(`${context}: ${(err as Error).message}\n`);
      process.exit(1);
    },
  });
}

async function play(port: number, remotePath: string, runs: number, local: string | undefined): Promise<unknown> {
  // Listed on the shell's connection; the playback connection is opened by the first play
  // (run 1 pays for connect and HELLO), as in the shell.
  const lister = new ClientConnection({ host: '127.0.0.1', port });
  const entry = await serverEntry(lister, remotePath);
  lister.close();
  const connection = new ClientConnection({ host: '127.0.0.1', port });
  const bg = backgroundPlayer(connection, MPV.slice(0, -1), local ? { kind: 'local', path: local } : { kind: 'server' });
  const out: FirstByteRun[] = [];
  for (let i = 0; i < runs; i++) {
    // A person types the next command a while later: the spare mpv is ready by then.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const t0 = performance.now();
    await bg.play([entry]);
    const mpv = bg.current as MpvController;
    const loaded = waitForEvent(mpv, 'file-loaded').then(() => performance.now());
    const restarted = waitForEvent(mpv, 'playback-restart').then(() => performance.now());
    const [fileLoadedAt, audioAt] = await Promise.all([loaded, restarted]);
    const firstByteAt = firstBytesAt.get(mpv.player);
    if (firstByteAt === undefined) throw new Error('mpv played without a byte written to it');
    out.push({ firstByteMs: firstByteAt - t0, fileLoadedMs: fileLoadedAt - t0, audioMs: audioAt - t0 });
    await bg.stop();
  }
  await bg.close();
  return { runs: out };
}

async function playQueue(port: number, remotePath: string, tracks: number): Promise<unknown> {
  const connection = new ClientConnection({ host: '127.0.0.1', port });
  const entry = await serverEntry(connection, remotePath);
  const rss: number[] = [];
  const bg = backgroundPlayer(connection, [...MPV.slice(0, -1), '--ao-null-untimed'], { kind: 'server' }, () => rss.push(process.memoryUsage().rss));
  await bg.play(Array.from({ length: tracks }, () => entry));
  await bg.idle();
  await bg.close();
  if (rss.length !== tracks) throw new Error(`${rss.length} of ${tracks} tracks finished`);
  return { tracks, rss };
}

const [mode, file, count, ...rest] = process.argv.slice(2);
if (!mode || !file || !count) {
  process.stderr.write('usage: player-ipc-child.js first-byte|idle|queue FILE N | play PORT PATH RUNS [LOCAL] | play-queue PORT PATH TRACKS\n');
  process.exit(64);
}
const n = Number(count);
const result =
  mode === 'play'
    ? await play(Number(file), count, Number(rest[0]), rest[1])
    : mode === 'play-queue'
      ? await playQueue(Number(file), count, Number(rest[0]))
      : mode === 'first-byte'
        ? await firstByte(file, n)
        : mode === 'idle'
          ? await idle(file, n)
          : await queue(file, n);
process.stdout.write(`${JSON.stringify(result)}\n`);
