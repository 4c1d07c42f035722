import fs from 'node:fs';
import path from 'node:path';
import { BenchServer } from '../harness/bench-server.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { GiB, benchTempDir, libraryOfOne } from '../harness/fixtures.js';
import { runMeasured, type MeasuredRun } from '../harness/measured-child.js';
import { paths } from '../harness/paths.js';
import type { Scope } from '../harness/scope.js';
import { sha256File } from '../harness/socket-readers.js';
import { fmtMB, fmtRate, max, mbPerSecond, median, rotated } from '../harness/stats.js';

/**
 * Scenario 3: `get` of a 1 GiB file by the real client (bin/as-client with `get 0` piped
 * in), against a bare socket reader that saves the same file (bench/bare-get.ts), and
 * the same reader hashing every byte (what the client's v2 verification costs). All are
 * child processes timed from spawn to exit, and all end with fdatasync + rename.
 */
const RUNS = 5;
const TARGET_RATIO = 0.8;
const TARGET_PEAK_RSS = 100e6;
const SAMPLE_MS = 50;

export async function clientGet(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const { root, file } = libraryOfOne('one-big', 'big-1GiB.flac', GiB);
  const name = path.basename(file);
  const profile = ctx.profileDir ? { profileDir: ctx.profileDir, profileName: 's3-ours-server.cpuprofile' } : {};
  const server = await BenchServer.start(scope, { kind: 'ours', root, readChunkSize: ctx.readChunkSize }, profile);
  const savedRoot = path.join(benchTempDir(), 'saved');
  const expectedSha = await sha256File(file);
  const hashed = new Set<string>();

  const check = async (run: MeasuredRun, saved: string, what: string): Promise<void> => {
    if (run.exit.code !== 0) throw new Error(`${what} exited with ${run.exit.code ?? run.exit.signal}: ${run.stderr.trim().slice(0, 300)}`);
    const size = fs.statSync(saved).size;
    if (size !== GiB) throw new Error(`${what} saved ${size} bytes, expected ${GiB}`);
    if (!hashed.has(what)) {
      // Once per contender is enough to know the bytes are right; hashing 1 GiB costs seconds.
      if ((await sha256File(saved)) !== expectedSha) throw new Error(`${what}: the saved file differs from the original (sha256)`);
      hashed.add(what);
    }
    fs.rmSync(path.dirname(saved), { recursive: true, force: true });
  };

  let runIndex = 0;
  const clientRun = async (): Promise<MeasuredRun> => {
    const dir = path.join(savedRoot, `client-${runIndex++}`);
    const profileArgs = ctx.profileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir, '--cpu-prof-name', `s3-client-${runIndex}.cpuprofile`] : [];
    const run = await runMeasured(scope, process.execPath, [...profileArgs, paths.asClient, '-a', '127.0.0.1', '-p', String(server.port), '-l', dir], {
      stdin: 'get 0\n',
      timeoutMs: 120_000,
      sampleMs: SAMPLE_MS,
    });
    await check(run, path.join(dir, name), 'as-client get');
    return run;
  };
  const bareRun = (withHash: boolean) => async (): Promise<MeasuredRun> => {
    const dir = path.join(savedRoot, `bare-${runIndex++}`);
    fs.mkdirSync(dir, { recursive: true });
    const saved = path.join(dir, name);
    const args = [path.join(paths.distBench, 'bare-get.js'), String(server.port), '0', saved, ...(withHash ? ['--sha256'] : [])];
    const run = await runMeasured(scope, process.execPath, args, { timeoutMs: 120_000, sampleMs: SAMPLE_MS });
    await check(run, saved, withHash ? 'bare-get --sha256' : 'bare-get');
    return run;
  };

  // Warm-up, not counted: the server hashes a file on its first v2 GET, and the page cache
  // settles after the file was written.
  await clientRun();
  await bareRun(false)();
  const runs = ctx.runs(RUNS);
  ctx.log(`get 1 GiB: ${runs} runs each of as-client, bare reader, bare reader + sha256 (each ends with fdatasync)`);
  const [a, b, h] = (await rotated(runs, [clientRun, bareRun(false), bareRun(true)])) as [MeasuredRun[], MeasuredRun[], MeasuredRun[]];
  if (ctx.profileDir) await server.stop();

  const mbs = (r: MeasuredRun) => mbPerSecond(GiB, r.ms);
  const ratios = a.map((r, i) => b[i]!.ms / r.ms);
  const hashRatios = a.map((r, i) => h[i]!.ms / r.ms);
  const ratio = median(ratios);
  const oursPeak = max(a.map((r) => r.peakBytes));
  const barePeak = max(b.map((r) => r.peakBytes));
  const summaries = a.map((r) => /saved .*\((.*)\)/.exec(r.stdout)?.[1] ?? '?');
  const verified = summaries.every((s) => s.includes('verified'));
  const brief = (r: MeasuredRun) => ({ ms: r.ms, peakBytes: r.peakBytes, cpuMs: r.cpuMs, exit: r.exit });
  return {
    rows: [
      {
        id: '3a',
        scenario: 'get 1 GiB: as-client vs bare reader → file',
        ours: fmtRate(median(a.map(mbs))),
        oursValue: median(a.map(mbs)),
        baseline: fmtRate(median(b.map(mbs))),
        baselineValue: median(b.map(mbs)),
        ratio,
        target: `ratio ≥ ${TARGET_RATIO}`,
        pass: ratio >= TARGET_RATIO,
        unit: 'MB/s',
        samples: { ours: a.map(brief), baseline: b.map(brief), baselineWithHash: h.map(brief), pairRatios: ratios, clientSummaries: summaries },
      },
      {
        id: '3b',
        scenario: 'get 1 GiB: as-client vs bare reader + sha256',
        ours: fmtRate(median(a.map(mbs))),
        oursValue: median(a.map(mbs)),
        baseline: fmtRate(median(h.map(mbs))),
        baselineValue: median(h.map(mbs)),
        ratio: median(hashRatios),
        target: '(what verification costs)',
        pass: null,
        unit: 'MB/s',
      },
      {
        id: '3c',
        scenario: 'get 1 GiB: client peak RSS',
        ours: fmtMB(oursPeak),
        oursValue: oursPeak,
        baseline: fmtMB(barePeak),
        baselineValue: barePeak,
        target: `≤ ${fmtMB(TARGET_PEAK_RSS)}`,
        pass: oursPeak <= TARGET_PEAK_RSS,
        unit: 'bytes',
      },
    ],
    notes: [
      `3: the client ${verified ? 'spoke v2 and verified each file against the server\'s SHA-256' : 'did not verify (v1?)'}; wall time spawn→exit includes Node start-up, the client's listing, and fdatasync of 1 GiB`,
      `3: CPU per get (median): client ${median(a.map((r) => r.cpuMs)).toFixed(0)} ms, bare reader ${median(b.map((r) => r.cpuMs)).toFixed(0)} ms, bare + sha256 ${median(h.map((r) => r.cpuMs)).toFixed(0)} ms; peak RSS bare + sha256 ${fmtMB(max(h.map((r) => r.peakBytes)))}`,
      `3: client's own summaries: ${summaries.join('; ')}`,
      `3: per-run ratios vs bare ${ratios.map((r) => r.toFixed(2)).join(' ')}; vs bare + sha256 ${hashRatios.map((r) => r.toFixed(2)).join(' ')}`,
    ],
  };
}
