import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BenchServer } from '../harness/bench-server.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { benchTempDir } from '../harness/fixtures.js';
import { runMeasured } from '../harness/measured-child.js';
import { paths } from '../harness/paths.js';
import type { Scope } from '../harness/scope.js';
import { fmtMB, fmtMs, median } from '../harness/stats.js';

/**
 * Scenario 9: playing a local file through mpv driven over its JSON IPC
 * (src/client/player/mpv-controller.ts), measured in a child process
 * (bench/player-ipc-child.ts):
 * - from `play` to the first bytes taken by mpv's stdin, to mpv having opened the file,
 *   and to mpv's audio output starting; cold (mpv started on `play`) and warm (an mpv
 *   started beforehand, as a shell could keep one ready for the next track);
 * - the client's CPU while mpv plays a 320 kbit/s mp3 and the client reads its position
 *   once a second, as a now-playing line does;
 * - the client's RSS over a queue of 100 tracks (one mpv each);
 * - `play N` as the shell does it (BackgroundPlayer, its spare mpv ready): over the network
 *   from our server on loopback (v2 GET), and from a local copy, to the first bytes taken by
 *   mpv's stdin and to its audio output starting;
 * - the client's RSS over a queue of 100 tracks streamed from the server.
 */
const RUNS = 10;
const IDLE_SECONDS = 20;
const TRACKS = 100;
const TARGET_FIRST_BYTE_MS = 20;
const TARGET_NETWORK_FIRST_BYTE_MS = 100;
const TARGET_CPU_PERCENT = 1;
const FLAT_TOLERANCE = 10e6;

function tone(file: string, seconds: number): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-ac', '2', '-ar', '44100', '-b:a', '320k', file]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make ${file}: ${String(r.stderr).trim()}`);
}

interface FirstByteRun {
  firstByteMs: number;
  fileLoadedMs: number;
  audioMs: number;
}

export async function playerIpc(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  if (spawnSync('mpv', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('mpv is not installed');
  const dir = benchTempDir();
  const served = path.join(dir, 'player-ipc-served');
  fs.mkdirSync(served, { recursive: true });
  const long = path.join(served, 'tone-320k-60s.mp3');
  const short = path.join(served, 'tone-320k-2s.mp3');
  tone(long, 60);
  tone(short, 2);
  const child = path.join(paths.distBench, 'player-ipc-child.js');
  const run = async (args: string[], timeoutMs: number) => {
    const r = await runMeasured(scope, process.execPath, [child, ...args], { timeoutMs, sampleMs: 500 });
    if (r.exit.code !== 0) throw new Error(`player-ipc-child ${args[0]} exited ${r.exit.code ?? r.exit.signal}: ${r.stderr.trim().slice(0, 300)}`);
    return { ...r, result: JSON.parse(r.stdout) as unknown };
  };

  ctx.log(`play a local 320 kbit/s mp3: ${ctx.runs(RUNS)} cold and warm starts`);
  const fb = (await run(['first-byte', long, String(ctx.runs(RUNS))], 120_000)).result as { cold: FirstByteRun[]; warm: FirstByteRun[] };
  const m = (runs: FirstByteRun[], key: keyof FirstByteRun): number => median(runs.map((r) => r[key]));

  const idleSeconds = ctx.quick ? 5 : IDLE_SECONDS;
  ctx.log(`mpv plays, the client polls it once a second: ${idleSeconds} s`);
  const idle = (await run(['idle', long, String(idleSeconds)], 60_000)).result as { wallMs: number; cpuMs: number; polls: number; rssStart: number; rssEnd: number };
  const cpuPercent = (idle.cpuMs / idle.wallMs) * 100;

  const tracks = ctx.quick ? 20 : TRACKS;
  ctx.log(`a queue of ${tracks} tracks, one mpv each`);
  const q = (await run(['queue', short, String(tracks)], 180_000)).result as { tracks: number; rss: number[] };
  const third = Math.floor(q.rss.length / 3);
  const middle = median(q.rss.slice(third, 2 * third));
  const end = median(q.rss.slice(2 * third));
  const growth = end - middle;

  const server = await BenchServer.start(scope, { kind: 'ours', root: served, readChunkSize: ctx.readChunkSize });
  const playRuns = ctx.runs(RUNS);
  ctx.log(`play N over the network (loopback, v2) and from a local copy: ${playRuns} runs each`);
  const net = ((await run(['play', String(server.port), path.basename(long), String(playRuns)], 120_000)).result as { runs: FirstByteRun[] }).runs;
  const localCopy = ((await run(['play', String(server.port), path.basename(long), String(playRuns), long], 120_000)).result as { runs: FirstByteRun[] }).runs;
  ctx.log(`a queue of ${tracks} tracks streamed from the server`);
  const sq = (await run(['play-queue', String(server.port), path.basename(short), String(tracks)], 240_000)).result as { tracks: number; rss: number[] };
  const sqThird = Math.floor(sq.rss.length / 3);
  const sqMiddle = median(sq.rss.slice(sqThird, 2 * sqThird));
  const sqEnd = median(sq.rss.slice(2 * sqThird));
  const sqGrowth = sqEnd - sqMiddle;

  const fmt = (runs: FirstByteRun[]): string =>
    `first bytes ${fmtMs(m(runs, 'firstByteMs'))}, file open ${fmtMs(m(runs, 'fileLoadedMs'))}, audio ${fmtMs(m(runs, 'audioMs'))}`;
  return {
    rows: [
      {
        id: '9a',
        scenario: 'play local mp3: first bytes into mpv (mpv started on play)',
        ours: fmtMs(m(fb.cold, 'firstByteMs')),
        oursValue: m(fb.cold, 'firstByteMs'),
        target: `≤ ${TARGET_FIRST_BYTE_MS} ms`,
        pass: m(fb.cold, 'firstByteMs') <= TARGET_FIRST_BYTE_MS,
        unit: 'ms',
        samples: { cold: fb.cold, warm: fb.warm },
      },
      {
        id: '9b',
        scenario: 'play local mp3: audio output started (cold / mpv ready beforehand)',
        ours: `${fmtMs(m(fb.cold, 'audioMs'))} / ${fmtMs(m(fb.warm, 'audioMs'))}`,
        oursValue: m(fb.cold, 'audioMs'),
        target: 'informational',
        pass: null,
        unit: 'ms',
      },
      {
        id: '9c',
        scenario: `client CPU while mpv plays 320 kbit/s mp3 (IPC, polled 1/s)`,
        ours: `${cpuPercent.toFixed(2)} %`,
        oursValue: cpuPercent,
        target: `≤ ${TARGET_CPU_PERCENT} % of a core`,
        pass: cpuPercent <= TARGET_CPU_PERCENT,
        unit: '%',
      },
      {
        id: '9d',
        scenario: `client RSS over a queue of ${tracks} tracks`,
        ours: `${fmtMB(q.rss[q.rss.length - 1] ?? 0)}, ${growth >= 0 ? '+' : ''}${fmtMB(growth)}`,
        oursValue: q.rss[q.rss.length - 1] ?? 0,
        target: `flat (last third ≤ middle + ${fmtMB(FLAT_TOLERANCE)})`,
        pass: growth <= FLAT_TOLERANCE,
        unit: 'bytes',
        samples: { rss: q.rss },
      },
      {
        id: '9e',
        scenario: 'play N over the network (loopback, v2): first bytes into mpv',
        ours: fmtMs(m(net, 'firstByteMs')),
        oursValue: m(net, 'firstByteMs'),
        target: `≤ ${TARGET_NETWORK_FIRST_BYTE_MS} ms`,
        pass: m(net, 'firstByteMs') <= TARGET_NETWORK_FIRST_BYTE_MS,
        unit: 'ms',
        samples: { runs: net },
      },
      {
        id: '9f',
        scenario: 'play N from a local copy (as the shell plays it): first bytes into mpv',
        ours: fmtMs(m(localCopy, 'firstByteMs')),
        oursValue: m(localCopy, 'firstByteMs'),
        target: `≤ ${TARGET_FIRST_BYTE_MS} ms`,
        pass: m(localCopy, 'firstByteMs') <= TARGET_FIRST_BYTE_MS,
        unit: 'ms',
        samples: { runs: localCopy },
      },
      {
        id: '9g',
        scenario: `client RSS over a queue of ${tracks} tracks streamed from the server`,
        ours: `${fmtMB(sq.rss[sq.rss.length - 1] ?? 0)}, ${sqGrowth >= 0 ? '+' : ''}${fmtMB(sqGrowth)}`,
        oursValue: sq.rss[sq.rss.length - 1] ?? 0,
        target: `flat (last third ≤ middle + ${fmtMB(FLAT_TOLERANCE)})`,
        pass: sqGrowth <= FLAT_TOLERANCE,
        unit: 'bytes',
        samples: { rss: sq.rss },
      },
    ],
    notes: [
      `8: cold (mpv started on play), medians of ${fb.cold.length}: ${fmt(fb.cold)}`,
      `8: warm (mpv started and its socket connected beforehand): ${fmt(fb.warm)}`,
      `8: idle: ${idle.cpuMs.toFixed(0)} ms of client CPU in ${(idle.wallMs / 1000).toFixed(1)} s (${idle.polls} polls of time-pos, duration, pause); client RSS ${fmtMB(idle.rssStart)} → ${fmtMB(idle.rssEnd)}`,
      `8: queue: client RSS first ${fmtMB(q.rss[0] ?? 0)}, middle third ${fmtMB(middle)}, last third ${fmtMB(end)}`,
      `9e: play N over the network, medians of ${net.length}: ${fmt(net)}`,
      `9e: the first play, which opens the playback connection (connect + HELLO): first bytes ${fmtMs(net[0]?.firstByteMs ?? NaN)}, audio ${fmtMs(net[0]?.audioMs ?? NaN)}`,
      `9f: play N from a local copy, medians of ${localCopy.length}: ${fmt(localCopy)}`,
      `9g: queue streamed from the server: client RSS first ${fmtMB(sq.rss[0] ?? 0)}, middle third ${fmtMB(sqMiddle)}, last third ${fmtMB(sqEnd)}`,
    ],
  };
}
