import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { exitOf, spawnChild, stopChild } from '../harness/children.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { benchTempDir } from '../harness/fixtures.js';
import { paths } from '../harness/paths.js';
import { ProcSampler } from '../harness/proc.js';
import type { ResultRow } from '../harness/report.js';
import { sleep, withTimeout, type Scope } from '../harness/scope.js';
import { HOST, readList } from '../harness/socket-readers.js';
import { fmtMB, fmtMs, median } from '../harness/stats.js';
import { copyLibrary, makeSources } from './tag-scan.js';

/**
 * Scenario 11: the library database across a restart, with MPD side by side. The same
 * library as scenario 7 (100 artists × 10 albums × 100 tracks of real tagged audio made by
 * ffmpeg) is served by a real as-server process with `--data DIR`:
 *
 * - first start: from spawn until its log says every file's tags were read (scan + tag pass,
 *   tags and stats written to the database);
 * - LIST and LIST2 of every file from that server, on fresh connections;
 * - stop (SIGTERM), start again on the same database: from spawn until the last byte of a
 *   LIST2 reply in which every record has its tags (counted after the clock stops);
 * - peak RSS of each process (VmHWM).
 *
 * When `mpd` is on PATH (the bench installs nothing), MPD 0.23 is run on the same files with
 * its own database: `update` from spawn until it ends, then a restart until `stats` counts
 * every song. Without it, a note says so.
 */
const FULL = { artists: 100, runs: 3 };
const QUICK = { artists: 5, runs: 2 };
const RESTART_TARGET_MS = 500;
const RSS_TARGET_BYTES = 120 * 2 ** 20;
const LIST_TARGET_MS = 300;
const FIRST_SCAN_VS_MPD = 3;
const PHASE_TIMEOUT_MS = 300_000;

export async function restart(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const { artists, runs } = ctx.quick ? QUICK : FULL;
  const files = artists * 1000;
  const k = `${files / 1000}k`;
  const dir = path.join(benchTempDir(), 'restart');
  scope.defer(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  ctx.log('making the tagged source files with ffmpeg');
  const sources = await makeSources(scope, path.join(dir, 'sources'));
  ctx.log(`copying them into ${files} files`);
  const root = path.join(dir, `library-${k}`);
  const bytes = await copyLibrary(root, artists, sources);
  execFileSync('sync', ['--file-system', root]);
  const dataDir = path.join(dir, 'data');

  // 1. First start: scan, every tag read, all written to the database.
  ctx.log(`as-server, first start on ${files} files with an empty database`);
  const first = await startOurs(scope, root, dataDir);
  await first.waitForLog(/tags read from (\d+) files/, PHASE_TIMEOUT_MS);
  const firstScanMs = performance.now() - first.spawnedAt;
  // CPU time and peak RSS of the tag pass alone (before any listing is asked for): load
  // disturbs CPU time less than wall time.
  first.sampler.sample();
  const firstCpuMs = first.sampler.last?.cpuMs ?? 0;
  const firstPeakBeforeList = first.sampler.peakBytes;
  const tagged = Number(/tags read from (\d+) files/.exec(first.log)![1]);
  if (tagged !== files) throw new Error(`the first tag pass read ${tagged} files, expected ${files}`);
  await sleep(1500); // let the last batch be written and the tag workers stop
  const lists: number[] = [];
  const list2s: number[] = [];
  for (let i = 0; i < runs; i++) {
    const list = await readList(first.port, files, 30_000);
    if (list.lines !== files) throw new Error(`LIST: ${list.lines} lines, expected ${files}`);
    lists.push(list.ms);
    const list2 = await readList2(first.port, files, 30_000);
    if (list2.tagged !== files) throw new Error(`LIST2: ${list2.tagged} of ${files} records with tags`);
    list2s.push(list2.ms);
  }
  const firstPeak = first.sampler.peakBytes;
  const firstRssSettled = first.sampler.last?.rssBytes ?? 0;
  await first.stop();
  const dbBytes = fs.statSync(path.join(dataDir, 'library.sqlite')).size;

  // 2. Restarts on the warm database.
  const restarts: { ms: number; peak: number; scanMs: number; rssAfter: number }[] = [];
  for (let i = 0; i < runs; i++) {
    ctx.log(`as-server, restart ${i + 1} of ${runs} on the database`);
    const again = await startOurs(scope, root, dataDir);
    let served: number | undefined;
    while (served === undefined) {
      const reply = await readList2(again.port, files, 30_000);
      // When the last byte arrived: the bench's own counting of the tags comes after.
      if (reply.tagged === files) served = reply.arrivedAt - again.spawnedAt;
    }
    await again.waitForLog(/scan ended in ([\d.]+) s: \d+ files, 0 new, 0 changed, 0 renamed, 0 removed/, PHASE_TIMEOUT_MS);
    const scanMs = Number(/scan ended in ([\d.]+) s/.exec(again.log)![1]) * 1000;
    if (/tags read from/.test(again.log)) throw new Error(`a restart read tags again: ${again.log}`);
    await sleep(1000);
    again.sampler.sample();
    restarts.push({ ms: served, peak: again.sampler.peakBytes, scanMs, rssAfter: again.sampler.last?.rssBytes ?? 0 });
    await again.stop();
  }

  // 3. MPD on the same files, when installed.
  const mpd = await runMpd(ctx, scope, root, path.join(dir, 'mpd'), files, runs);

  const restartMs = median(restarts.map((r) => r.ms));
  const peak = Math.max(firstPeak, ...restarts.map((r) => r.peak));
  const list2Ms = median(list2s);
  const listMs = median(lists);
  const row = (id: string, scenario: string, ours: string, oursValue: number, unit: string, target: string, pass: boolean | null, mpdText?: string): ResultRow => ({
    id,
    scenario,
    ours,
    oursValue,
    target,
    pass,
    unit,
    ...(mpdText ? { baseline: mpdText } : {}),
  });
  const mpdFirst = mpd ? `MPD ${fmtMs(mpd.updateMs)}` : undefined;
  return {
    rows: [
      row('11a', `first start with tags, ${k} files (spawn → every tag in the database)`, fmtMs(firstScanMs), firstScanMs, 'ms', mpd ? `≥ ${FIRST_SCAN_VS_MPD}× MPD (≤ ${fmtMs(mpd.updateMs / FIRST_SCAN_VS_MPD)})` : `≥ ${FIRST_SCAN_VS_MPD}× MPD (MPD not installed)`, mpd ? firstScanMs * FIRST_SCAN_VS_MPD <= mpd.updateMs : null, mpdFirst),
      row('11b', `restart, ${k} unchanged, spawn → LIST2 with every tag`, fmtMs(restartMs), restartMs, 'ms', `≤ ${RESTART_TARGET_MS} ms`, restartMs <= RESTART_TARGET_MS, mpd ? `MPD ${fmtMs(mpd.restartMs)}` : undefined),
      row('11c', `peak RSS, ${k} tagged files (first start and restarts)`, fmtMB(peak), peak, 'bytes', `≤ ${fmtMB(RSS_TARGET_BYTES)}`, peak <= RSS_TARGET_BYTES, mpd ? `MPD ${fmtMB(mpd.peakFirst)} / ${fmtMB(mpd.peakRestart)}` : undefined),
      row('11d', `LIST2 of ${k} from the database`, fmtMs(list2Ms), list2Ms, 'ms', `≤ ${LIST_TARGET_MS} ms`, list2Ms <= LIST_TARGET_MS),
      row('11e', `LIST of ${k}`, fmtMs(listMs), listMs, 'ms', `≤ ${LIST_TARGET_MS} ms`, listMs <= LIST_TARGET_MS),
    ],
    notes: [
      `8: ${files} copies of ffmpeg-made tagged files (${fmtMB(bytes)}), page cache warm; database ${fmtMB(dbBytes)}`,
      `11: first start ${fmtMs(firstScanMs)} (server CPU ${fmtMs(firstCpuMs)}, peak RSS before any listing ${fmtMB(firstPeakBeforeList)}), peak RSS ${fmtMB(firstPeak)}, RSS after the pass ${fmtMB(firstRssSettled)}; LIST ${lists.map(fmtMs).join(' ')}; LIST2 ${list2s.map(fmtMs).join(' ')}`,
      `8: restarts (spawn → LIST2 whole with tags) ${restarts.map((r) => fmtMs(r.ms)).join(' ')}; the reconciling scan behind them ${restarts.map((r) => fmtMs(r.scanMs)).join(' ')}, 0 files read; peak RSS ${restarts.map((r) => fmtMB(r.peak)).join(' ')}, RSS after ${restarts.map((r) => fmtMB(r.rssAfter)).join(' ')}`,
      mpd
        ? `8: MPD ${mpd.version}: update ${fmtMs(mpd.updateMs)} (peak RSS ${fmtMB(mpd.peakFirst)}); restarts until stats counts every song ${mpd.restarts.map(fmtMs).join(' ')} (peak RSS ${fmtMB(mpd.peakRestart)}); database ${fmtMB(mpd.dbBytes)}`
        : '11: mpd is not installed (apt-get install mpd): the MPD comparison was skipped',
    ],
  };
}

interface RunningServer {
  child: ChildProcess;
  spawnedAt: number;
  port: number;
  log: string;
  sampler: ProcSampler;
  waitForLog(pattern: RegExp, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

async function startOurs(scope: Scope, root: string, dataDir: string): Promise<RunningServer> {
  const spawnedAt = performance.now();
  const child = spawnChild(scope, process.execPath, [paths.asServer, '-l', root, '--data', dataDir, '-p', '0', '--host', HOST, '--rescan', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const sampler = new ProcSampler(child.pid!, 200);
  const server: RunningServer = {
    child,
    spawnedAt,
    port: 0,
    log: '',
    sampler,
    async waitForLog(pattern, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (!pattern.test(server.log)) {
        if (performance.now() > deadline) throw new Error(`as-server: no ${pattern} in ${timeoutMs / 1000} s: ${server.log.slice(-500)}`);
        if (child.exitCode !== null) throw new Error(`as-server exited: ${server.log.slice(-500)}`);
        await sleep(5);
      }
    },
    async stop() {
      sampler.sample();
      sampler.stop();
      await stopChild(child);
    },
  };
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (server.log += s));
  await server.waitForLog(/serving \d+ files? from .* on [^:]+:(\d+)/, 60_000);
  server.port = Number(/serving \d+ files? from .* on [^:]+:(\d+)/.exec(server.log)![1]);
  return server;
}

/** LIST2 on a fresh connection (after HELLO AS/2): time to the last record, and how many records carry tags. */
function readList2(port: number, expected: number, timeoutMs: number): Promise<{ ms: number; tagged: number; arrivedAt: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let lines = 0;
    let done = false;
    const socket = net.connect({ host: HOST, port });
    const timer = setTimeout(() => finish(new Error(`LIST2: no whole reply in ${timeoutMs / 1000} s (${lines} lines)`)), timeoutMs);
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      const arrivedAt = performance.now();
      const ms = arrivedAt - started;
      clearTimeout(timer);
      socket.destroy();
      if (err) return reject(err);
      const text = Buffer.concat(chunks).toString('utf8');
      let tagged = 0;
      for (let i = text.indexOf('"codec":'); i !== -1; i = text.indexOf('"codec":', i + 8)) tagged++;
      resolve({ ms, tagged, arrivedAt });
    };
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write('HELLO AS/2\r\nLIST2\r\n'));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      if (lines >= expected + 2) finish(); // the HELLO reply, OK N, then N records
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`LIST2: connection closed after ${lines} lines`)));
  });
}

interface MpdFigures {
  version: string;
  updateMs: number;
  peakFirst: number;
  restarts: number[];
  restartMs: number;
  peakRestart: number;
  dbBytes: number;
}

async function runMpd(ctx: BenchContext, scope: Scope, root: string, dir: string, files: number, runs: number): Promise<MpdFigures | undefined> {
  let version: string;
  try {
    version = /Music Player Daemon ([\d.]+)/.exec(execFileSync('mpd', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    ctx.log('mpd is not installed: skipping the MPD comparison');
    return undefined;
  }
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = path.join(dir, 'mpd.conf');
  fs.writeFileSync(
    conf,
    [
      `music_directory "${root}"`,
      `db_file "${path.join(dir, 'mpd.db')}"`,
      `log_file "${path.join(dir, 'mpd.log')}"`,
      `bind_to_address "${HOST}"`,
      `port "${port}"`,
      'auto_update "no"',
      'zeroconf_enabled "no"',
      'filesystem_charset "UTF-8"',
      'audio_output {\n  type "null"\n  name "null"\n}',
      '',
    ].join('\n'),
  );
  const start = async (): Promise<{ child: ChildProcess; sampler: ProcSampler; spawnedAt: number }> => {
    const spawnedAt = performance.now();
    const child = spawnChild(scope, 'mpd', ['--no-daemon', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { child, sampler: new ProcSampler(child.pid!, 200), spawnedAt };
  };
  const stop = async (m: { child: ChildProcess; sampler: ProcSampler }): Promise<void> => {
    m.sampler.sample();
    m.sampler.stop();
    await stopChild(m.child, 10_000);
    await withTimeout(exitOf(m.child), 15_000, 'mpd exit');
  };

  ctx.log(`MPD ${version}: update of ${files} files`);
  const first = await start();
  await untilListening(port);
  await mpdCommand(port, 'update', 30_000);
  const deadline = performance.now() + PHASE_TIMEOUT_MS;
  for (;;) {
    const status = await mpdCommand(port, 'status', 5_000);
    if (!/^updating_db:/m.test(status)) break;
    if (performance.now() > deadline) throw new Error('MPD update did not end in time');
    await sleep(50);
  }
  const updateMs = performance.now() - first.spawnedAt;
  const songs = songsOf(await mpdCommand(port, 'stats', 5_000));
  if (songs !== files) throw new Error(`MPD found ${songs} songs, expected ${files}`);
  const peakFirst = first.sampler.peakBytes;
  await stop(first);

  const restarts: number[] = [];
  let peakRestart = 0;
  for (let i = 0; i < runs; i++) {
    ctx.log(`MPD restart ${i + 1} of ${runs}`);
    const again = await start();
    let ms: number | undefined;
    while (ms === undefined) {
      const stats = await mpdCommand(port, 'stats', 30_000).catch(() => '');
      if (songsOf(stats) === files) ms = performance.now() - again.spawnedAt;
      else await sleep(5);
    }
    restarts.push(ms);
    await sleep(1000);
    peakRestart = Math.max(peakRestart, (again.sampler.sample(), again.sampler.peakBytes));
    await stop(again);
  }
  return { version, updateMs, peakFirst, restarts, restartMs: median(restarts), peakRestart, dbBytes: fs.statSync(path.join(dir, 'mpd.db')).size };
}

/** Retries a connection until MPD listens (it loads its database first). */
async function untilListening(port: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      await mpdCommand(port, 'ping', 5_000);
      return;
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await sleep(5);
    }
  }
}

function songsOf(stats: string): number {
  return Number(/^songs: (\d+)/m.exec(stats)?.[1] ?? -1);
}

/** One MPD protocol command on a fresh connection: the reply up to OK (or a failure). */
function mpdCommand(port: number, command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    let sent = false;
    const socket = net.connect({ host: HOST, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`mpd ${command}: no answer in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (s: string) => {
      text += s;
      if (!sent && /^OK MPD .*\n/.test(text)) {
        sent = true;
        text = '';
        socket.write(`${command}\n`);
      } else if (sent && /(^|\n)(OK|ACK .*)\n$/.test(text)) {
        clearTimeout(timer);
        socket.end();
        if (/(^|\n)ACK /.test(text)) reject(new Error(`mpd ${command}: ${text.trim()}`));
        else resolve(text);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
