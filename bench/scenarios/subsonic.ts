import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { forkChild, spawnChild } from '../harness/children.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { MiB, benchTempDir } from '../harness/fixtures.js';
import { paths } from '../harness/paths.js';
import { withTimeout, type Scope } from '../harness/scope.js';
import { fmtMs, fmtRate, interleaved, mbPerSecond, median } from '../harness/stats.js';
import { freePort } from '../harness/free-port.js';

const HOST = '127.0.0.1';
const SUPYSONIC_CLI = '/usr/bin/supysonic-cli';
const SUPYSONIC_SERVER = '/usr/bin/supysonic-server';
const QUERY = 'search3?query=Track%20number%207&songCount=100&albumCount=20&artistCount=20&f=json';

/**
 * Scenario 13, the Subsonic API side by side with Debian's supysonic (a Python Subsonic
 * server, SQLite, served by waitress) on the same library of real MP3 files with ID3 tags:
 * the time to scan it and read every file's tags, `search3`, and `stream` throughput of one
 * large file. Both servers run on loopback in processes of their own; supysonic with a
 * private configuration in a temporary directory.
 */
export async function subsonicSideBySide(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const notes: string[] = [];
  const rows: ScenarioResult['rows'] = [];
  if (!existsSync(SUPYSONIC_CLI) || !existsSync(SUPYSONIC_SERVER)) {
    return { rows, notes: [`13: ${SUPYSONIC_CLI} not installed (Debian package supysonic, and python3-waitress to serve): no comparison`] };
  }
  const artists = ctx.quick ? 10 : 50;
  const bigBytes = (ctx.quick ? 32 : 256) * MiB;
  const root = path.join(benchTempDir(), `subsonic-real-${artists}`);
  const files = buildRealLibrary(root, artists, 4, 10, bigBytes);
  ctx.log(`subsonic: ${files.toLocaleString('en')} real MP3 files, one of ${bigBytes / MiB} MiB`);

  // Scan and tags: ours from process start to listening with every tag read (in-memory database).
  const oursStarted = performance.now();
  const ours = await startWebChild(scope, root);
  const oursScanMs = performance.now() - oursStarted;
  if (ours.files !== files) throw new Error(`our server lists ${ours.files} files of ${files}`);

  const supy = path.join(benchTempDir(), `supysonic-${process.pid}`);
  rmSync(supy, { recursive: true, force: true });
  mkdirSync(path.join(supy, 'cache'), { recursive: true });
  writeFileSync(
    path.join(supy, 'supysonic.conf'),
    `[base]\ndatabase_uri = sqlite:///${supy}/supysonic.db\n[webapp]\ncache_dir = ${supy}/cache\nmount_webui = no\nlog_level = WARNING\n[daemon]\nsocket = ${supy}/daemon.sock\nrun_watcher = no\n`,
  );
  const cli = (...args: string[]): string => execFileSync(SUPYSONIC_CLI, args, { cwd: supy, encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] });
  cli('user', 'add', 'bench', '-p', 'bench');
  cli('folder', 'add', 'music', root);
  const supyStarted = performance.now();
  const scanned = cli('folder', 'scan', 'music');
  const supyScanMs = performance.now() - supyStarted;
  const added = /Added: .*?(\d+) tracks/.exec(scanned)?.[1];
  rows.push({
    id: '13a', scenario: `subsonic: scan and read the tags of ${files.toLocaleString('en')} MP3 files (vs supysonic folder scan)`, ours: fmtMs(oursScanMs), oursValue: oursScanMs,
    baseline: fmtMs(supyScanMs), baselineValue: supyScanMs, ratio: supyScanMs / oursScanMs, target: 'informational', pass: null, unit: 'ms',
    notes: [`ours: from process start to listening; supysonic: supysonic-cli folder scan (added ${added ?? '?'} tracks)`],
  });

  const port = await freePort(HOST);
  const server = spawnChild(scope, SUPYSONIC_SERVER, ['-h', HOST, '-p', String(port)], { cwd: supy, stdio: 'ignore' });
  await waitForPing(port, server);
  const auth = 'u=bench&p=bench&v=1.16.1&c=bench';

  const search = async (p: number): Promise<number> => (await timedGet(p, `/rest/${QUERY}&${auth}`)).ms;
  await search(ours.port);
  await search(port);
  const { a: oursSearch, b: supySearch } = await interleaved(ctx.runs(7), () => search(ours.port), () => search(port));
  const oursSearchMs = median(oursSearch);
  const supySearchMs = median(supySearch);
  rows.push({
    id: '13b', scenario: `subsonic: search3 "Track number 7", ${files.toLocaleString('en')} files (round trip, warm; vs supysonic)`, ours: fmtMs(oursSearchMs), oursValue: oursSearchMs,
    baseline: fmtMs(supySearchMs), baselineValue: supySearchMs, ratio: supySearchMs / oursSearchMs, target: 'informational', pass: null, unit: 'ms', samples: { ours: oursSearch, supysonic: supySearch },
  });

  const bigId = async (p: number): Promise<string> => {
    const body = await getText(p, `/rest/search3?query=Stream%20Test&songCount=5&f=json&${auth}`);
    const song = (JSON.parse(body) as { 'subsonic-response': { searchResult3?: { song?: { id: string; size?: number }[] } } })['subsonic-response'].searchResult3?.song?.find((s) => s.size === undefined || s.size > MiB);
    if (!song) throw new Error(`no large file found: ${body.slice(0, 200)}`);
    return song.id;
  };
  const oursBig = await bigId(ours.port);
  const supyBig = await bigId(port);
  const stream = async (p: number, id: string): Promise<number> => {
    const r = await download(p, `/rest/stream?id=${encodeURIComponent(id)}&${auth}`);
    if (r.bytes !== bigBytes + ID3_BYTES_OF_BIG) throw new Error(`stream: ${r.bytes} bytes, expected ${bigBytes + ID3_BYTES_OF_BIG}`);
    return mbPerSecond(r.bytes, r.ms);
  };
  await stream(ours.port, oursBig);
  await stream(port, supyBig);
  const { a: oursStream, b: supyStream } = await interleaved(ctx.runs(3), () => stream(ours.port, oursBig), () => stream(port, supyBig));
  const ratio = median(oursStream.map((r, i) => r / supyStream[i]!));
  rows.push({
    id: '13c', scenario: `subsonic: stream ${bigBytes / MiB} MiB MP3, original bytes (vs supysonic)`, ours: fmtRate(median(oursStream)), oursValue: median(oursStream),
    baseline: fmtRate(median(supyStream)), baselineValue: median(supyStream), ratio, target: 'informational', pass: null, unit: 'MB/s', samples: { ours: oursStream, supysonic: supyStream },
  });
  notes.push('13: a smaller library than the 100,000-file one of 12s-12u: supysonic reads every file with mutagen at its scan, and the generated 100,000-file library has no real audio');
  return { rows, notes };
}

/** ID3v2.3 text frames (Latin-1 names only) before the audio. */
function id3Tag(frames: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [id, text] of Object.entries(frames)) {
    const body = Buffer.concat([Buffer.from([0]), Buffer.from(text, 'latin1')]);
    const header = Buffer.alloc(10);
    header.write(id, 0, 'latin1');
    header.writeUInt32BE(body.length, 4);
    parts.push(header, body);
  }
  const content = Buffer.concat(parts);
  const size = content.length;
  const header = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
  return Buffer.concat([header, content]);
}

let ID3_BYTES_OF_BIG = 0;

/**
 * A library of real MP3 audio: one second of a tone encoded once by ffmpeg, its frames given
 * a different ID3 tag per file (artist, album, title, track), so both servers read real tags;
 * and one large file of the same frames repeated, for streaming.
 */
function buildRealLibrary(root: string, artists: number, albums: number, tracks: number, bigBytes: number): number {
  const count = artists * albums * tracks + 1;
  const done = path.join(root, '.complete');
  const seedFile = path.join(benchTempDir(), 'subsonic-seed.mp3');
  if (!existsSync(seedFile)) {
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-ac', '1', '-b:a', '64k', '-map_metadata', '-1', '-id3v2_version', '0', '-write_id3v1', '0', '-write_xing', '0', seedFile]);
  }
  const frames = readFileSync(seedFile);
  const bigTag = id3Tag({ TIT2: 'Stream Test', TPE1: 'Stream Artist', TALB: 'Stream Album', TRCK: '1' });
  ID3_BYTES_OF_BIG = bigTag.length;
  if (existsSync(done)) return count;
  rmSync(root, { recursive: true, force: true });
  for (let a = 0; a < artists; a++) {
    const artist = `Artist ${String(a).padStart(3, '0')}`;
    for (let b = 0; b < albums; b++) {
      const album = `Album ${String(b).padStart(2, '0')} of ${artist}`;
      const dir = path.join(root, artist, album);
      mkdirSync(dir, { recursive: true });
      for (let t = 1; t <= tracks; t++) {
        const tag = id3Tag({ TIT2: `Track number ${t}`, TPE1: artist, TALB: album, TRCK: String(t) });
        writeFileSync(path.join(dir, `${String(t).padStart(2, '0')} Track number ${t}.mp3`), Buffer.concat([tag, frames]));
      }
    }
  }
  mkdirSync(path.join(root, 'Stream'), { recursive: true });
  const chunk = Buffer.concat(Array.from({ length: Math.ceil((8 * MiB) / frames.length) }, () => frames)).subarray(0, Math.floor((8 * MiB) / frames.length) * frames.length);
  const fd = openSync(path.join(root, 'Stream', 'Stream Test.mp3'), 'w');
  try {
    writeSync(fd, bigTag);
    let written = 0;
    while (written < bigBytes) {
      const piece = chunk.subarray(0, Math.min(chunk.length, bigBytes - written));
      writeSync(fd, piece);
      written += piece.length;
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(done, '');
  return count;
}

async function startWebChild(scope: Scope, root: string): Promise<{ port: number; files: number }> {
  const child: ChildProcess = forkChild(scope, path.join(paths.distBench, 'web-server-child.js'), [JSON.stringify({ root })]);
  return withTimeout(
    new Promise<{ port: number; files: number }>((resolve, reject) => {
      child.on('message', (msg: { type: string; port: number; files: number; message?: string }) => (msg.type === 'listening' ? resolve(msg) : reject(new Error(msg.message))));
      child.once('exit', (code) => reject(new Error(`web server child exited (${code})`)));
    }),
    300_000,
    'starting the web server',
  );
}

async function waitForPing(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await timedGet(port, '/rest/ping?u=bench&p=bench&v=1.16.1&c=bench')).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('supysonic-server did not start (is python3-waitress installed?)');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function getText(port: number, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: HOST, port, path: url, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function timedGet(port: number, url: string): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    http
      .get({ host: HOST, port, path: url, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      })
      .on('error', reject);
  });
}

function download(port: number, url: string): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    http
      .get({ host: HOST, port, path: url, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ bytes, ms: performance.now() - started }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
