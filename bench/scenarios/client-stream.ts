import fs from 'node:fs';
import path from 'node:path';
import { BenchServer } from '../harness/bench-server.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { MiB, benchTempDir, libraryOfOne } from '../harness/fixtures.js';
import { runMeasured } from '../harness/measured-child.js';
import { paths } from '../harness/paths.js';
import { ProcSampler } from '../harness/proc.js';
import type { Scope } from '../harness/scope.js';
import { MB, fmtMB, max, median } from '../harness/stats.js';

/**
 * Scenario 4: `stream 0` of a 256 MiB file into a stand-in player that reads 8 MiB/s
 * (bench/slow-player.ts), so the client must hold the server back for 32 s. 1 GiB would
 * take 128 s: 256 MiB keeps the whole bench under its 10-minute bound.
 */
export const PLAYER_FILE_SIZE = 256 * MiB;
export const PLAYER_RATE = 8 * MiB;
const RUNS = 2;
const SAMPLE_MS = 250;
const TARGET_RSS = 100e6;
/** "Flat": the last third of the run may sit at most this much above the middle third. */
const FLAT_TOLERANCE = 10e6;

export async function clientStream(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const { root } = libraryOfOne('one-medium', 'medium-256MiB.ogg', PLAYER_FILE_SIZE);
  const server = await BenchServer.start(scope, { kind: 'ours', root, readChunkSize: ctx.readChunkSize });
  const results: { ms: number; playerBytes: number; peak: number; last: number; middle: number; end: number; serverPeak: number; series: [number, number][] }[] = [];
  for (let run = 0; run < ctx.runs(RUNS); run++) {
    ctx.log(`stream 256 MiB into an 8 MiB/s player: run ${run + 1} (about ${(PLAYER_FILE_SIZE / PLAYER_RATE).toFixed(0)} s)`);
    const resultFile = path.join(benchTempDir(), `player-${run}.json`);
    const player = `"${process.execPath}" "${path.join(paths.distBench, 'slow-player.js')}" ${PLAYER_RATE} "${resultFile}"`;
    const serverSampler = new ProcSampler(server.pid, SAMPLE_MS);
    const r = await runMeasured(
      scope,
      process.execPath,
      [paths.asClient, '-a', '127.0.0.1', '-p', String(server.port), '-l', path.join(benchTempDir(), 'unused'), '--player', player],
      { stdin: 'stream 0\n', timeoutMs: 120_000, sampleMs: SAMPLE_MS },
    );
    serverSampler.stop();
    if (r.exit.code !== 0) throw new Error(`as-client stream exited with ${r.exit.code ?? r.exit.signal}: ${r.stderr.trim().slice(0, 300)}`);
    const played = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { bytes: number; ms: number };
    if (played.bytes !== PLAYER_FILE_SIZE) throw new Error(`the player got ${played.bytes} bytes, expected ${PLAYER_FILE_SIZE}`);
    const rss = r.samples.map((s) => s.rssBytes);
    const third = Math.floor(rss.length / 3);
    results.push({
      ms: r.ms,
      playerBytes: played.bytes,
      peak: r.peakBytes,
      last: rss[rss.length - 1] ?? 0,
      middle: median(rss.slice(third, 2 * third)),
      end: median(rss.slice(2 * third)),
      serverPeak: serverSampler.peakBytes,
      series: r.samples.map((s) => [Math.round(s.t), s.rssBytes]),
    });
  }
  const peak = max(results.map((r) => r.peak));
  const last = median(results.map((r) => r.last));
  const growth = max(results.map((r) => r.end - r.middle));
  const flat = growth <= FLAT_TOLERANCE;
  const seriesText = (series: [number, number][]) =>
    series.filter((_, i) => i % 8 === 0).map(([t, b]) => `${(t / 1000).toFixed(0)}s:${(b / MB).toFixed(0)}`).join(' ');
  return {
    rows: [
      {
        id: '4a',
        scenario: 'stream 256 MiB into 8 MiB/s player: client peak RSS',
        ours: fmtMB(peak),
        oursValue: peak,
        target: `≤ ${fmtMB(TARGET_RSS)}`,
        pass: peak <= TARGET_RSS,
        unit: 'bytes',
        samples: { runs: results },
      },
      {
        id: '4b',
        scenario: 'stream 256 MiB into 8 MiB/s player: client RSS last, growth',
        ours: `${fmtMB(last)}, ${growth >= 0 ? '+' : ''}${fmtMB(growth)}`,
        oursValue: last,
        target: `flat (last third ≤ middle + ${fmtMB(FLAT_TOLERANCE)})`,
        pass: flat && last <= TARGET_RSS,
        unit: 'bytes',
      },
    ],
    notes: [
      ...results.map(
        (r, i) =>
          `4: run ${i + 1}: ${(r.ms / 1000).toFixed(1)} s, player got ${r.playerBytes} bytes; client RSS peak ${fmtMB(r.peak)}, middle third ${fmtMB(r.middle)}, last third ${fmtMB(r.end)}, last ${fmtMB(r.last)}; server peak RSS ${fmtMB(r.serverPeak)}`,
      ),
      `4: client RSS over time, run 1 (s:MB every 2 s): ${seriesText(results[0]?.series ?? [])}`,
    ],
  };
}
