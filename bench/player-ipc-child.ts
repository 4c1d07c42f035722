/**
 * Scenario 8's measurements, in a fresh process so that its CPU and memory are its own:
 *
 *   node player-ipc-child.js first-byte FILE RUNS   start mpv and feed FILE; times per run, cold
 *                                                   (mpv started on `play`) and warm (an mpv
 *                                                   started beforehand, its socket connected)
 *   node player-ipc-child.js idle FILE SECONDS      mpv plays FILE; we poll it once a second
 *   node player-ipc-child.js queue FILE TRACKS      TRACKS tracks one after another (untimed)
 *
 * Prints one JSON object. mpv runs with --ao=null (real time, no sound device) except in
 * `queue`, which adds --ao-null-untimed so that a hundred tracks take seconds.
 */
import { promises as fsp } from 'node:fs';
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

const [mode, file, count] = process.argv.slice(2);
if (!mode || !file || !count) {
  process.stderr.write('usage: player-ipc-child.js first-byte|idle|queue FILE N\n');
  process.exit(64);
}
const n = Number(count);
const result = mode === 'first-byte' ? await firstByte(file, n) : mode === 'idle' ? await idle(file, n) : await queue(file, n);
process.stdout.write(`${JSON.stringify(result)}\n`);
