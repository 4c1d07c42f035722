import { BenchServer } from '../harness/bench-server.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { GiB, libraryOfOne } from '../harness/fixtures.js';
import { readProcSample } from '../harness/proc.js';
import type { Scope } from '../harness/scope.js';
import { readStream } from '../harness/socket-readers.js';
import { fmtRate, interleaved, mbPerSecond, median } from '../harness/stats.js';

/** Scenario 1: one STREAM of a 1 GiB file, ours against the baseline server. */
export const STREAM_FILE_SIZE = GiB;
const RUNS = 21;
const TARGET_RATIO = 0.9;

export async function streamThroughput(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const { root, file } = libraryOfOne('one-big', 'big-1GiB.flac', STREAM_FILE_SIZE);
  const profile = (name: string) => (ctx.profileDir ? { profileDir: ctx.profileDir, profileName: `s1-${name}.cpuprofile` } : {});
  const ours = await BenchServer.start(scope, { kind: 'ours', root, readChunkSize: ctx.readChunkSize }, profile('ours-server'));
  const baseline = await BenchServer.start(scope, { kind: 'baseline', files: [file] }, profile('baseline-server'));

  const once = async (server: BenchServer) => {
    const cpuBefore = readProcSample(server.pid)?.cpuMs ?? 0;
    const r = await readStream(server.port, 0, { timeoutMs: 60_000, signal: scope.signal });
    const cpuMs = (readProcSample(server.pid)?.cpuMs ?? 0) - cpuBefore;
    if (r.size !== STREAM_FILE_SIZE || r.bytes !== STREAM_FILE_SIZE) throw new Error(`STREAM: ${r.bytes} bytes of ${r.size}, expected ${STREAM_FILE_SIZE}`);
    return { ms: r.ms, mbs: mbPerSecond(r.bytes, r.ms), serverCpuMs: cpuMs };
  };
  // Warm-up (JIT, page cache), not counted.
  await once(ours);
  await once(baseline);
  const runs = ctx.runs(RUNS);
  ctx.log(`1 GiB STREAM: ${runs} runs each, interleaved`);
  const { a, b } = await interleaved(runs, () => once(ours), () => once(baseline));
  const ratios = a.map((r, i) => r.mbs / b[i]!.mbs);
  const ratio = median(ratios);
  const oursMbs = median(a.map((r) => r.mbs));
  const baseMbs = median(b.map((r) => r.mbs));
  const cpuPerGiB = (rs: { serverCpuMs: number }[]) => median(rs.map((r) => r.serverCpuMs));
  if (ctx.profileDir) {
    await ours.stop();
    await baseline.stop();
  }
  return {
    rows: [
      {
        id: '1',
        scenario: 'STREAM 1 GiB, one client (throughput)',
        ours: fmtRate(oursMbs),
        oursValue: oursMbs,
        baseline: fmtRate(baseMbs),
        baselineValue: baseMbs,
        ratio,
        target: `ratio ≥ ${TARGET_RATIO}`,
        pass: ratio >= TARGET_RATIO,
        unit: 'MB/s',
        samples: { ours: a, baseline: b, pairRatios: ratios },
      },
      {
        id: '1b',
        scenario: 'STREAM 1 GiB: server CPU time (user + sys)',
        ours: `${cpuPerGiB(a).toFixed(0)} ms`,
        oursValue: cpuPerGiB(a),
        baseline: `${cpuPerGiB(b).toFixed(0)} ms`,
        baselineValue: cpuPerGiB(b),
        ratio: cpuPerGiB(b) / cpuPerGiB(a),
        target: '(steadier than MB/s under load)',
        pass: null,
        unit: 'ms',
      },
    ],
    notes: [
      `1: server CPU is read from /proc/PID/stat in 10 ms ticks; it counts the server's main thread and its thread pool`,
      `1: per-run MB/s ours: ${a.map((r) => r.mbs.toFixed(0)).join(' ')}; baseline: ${b.map((r) => r.mbs.toFixed(0)).join(' ')}`,
      `1: ratio is the median of per-pair ratios (${ratios.map((r) => r.toFixed(2)).join(' ')})`,
    ],
  };
}
