import path from 'node:path';
import { BenchServer } from '../harness/bench-server.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { benchTempDir, generateLibrary } from '../harness/fixtures.js';
import { runMeasured } from '../harness/measured-child.js';
import { paths } from '../harness/paths.js';
import { readProcSample } from '../harness/proc.js';
import type { Scope } from '../harness/scope.js';
import { readList } from '../harness/socket-readers.js';
import { fmtMB, fmtMs, interleaved, max, median } from '../harness/stats.js';
import type { ResultRow } from '../harness/report.js';

/**
 * Scenario 5: a library of 100,000 audio files (100 artists × 10 albums × 100 tracks,
 * 1,100 directories, plus 2,000 non-audio files to skip).
 *
 * Each run starts a fresh server process with the library options as-server uses (a
 * directory watch and a background tag pass, both on by default) and measures
 * Library.open, LIST over a socket (the first builds the reply, later ones reuse it), a
 * rescan while the tag pass still runs (the first minute after start), and a rescan once
 * it has finished (steady state). Interleaved with it, fresh processes time scanLibrary
 * alone and the baseline, a bare synchronous walk (bench/scan-baseline.ts).
 */
const ARTISTS = 100;
const ALBUMS = 10;
const TRACKS = 100;
export const LIBRARY_FILES = ARTISTS * ALBUMS * TRACKS;
const RUNS = 3;
const CACHED_LISTS = 3;
const RESCANS = 2;
const SCAN_TARGET_MS = 2000;
const LIST_TARGET_MS = 300;
const RESCAN_TARGET_MS = 1000;

export async function largeLibrary(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const root = path.join(benchTempDir(), 'library-100k');
  ctx.log(`generating ${LIBRARY_FILES} files`);
  const generated = generateLibrary(root, ARTISTS, ALBUMS, TRACKS);

  const serverRun = async () => {
    const server = await BenchServer.start(scope, { kind: 'ours', root, readChunkSize: ctx.readChunkSize }, { startTimeoutMs: 60_000 });
    if (server.files !== LIBRARY_FILES) throw new Error(`the scan found ${server.files} files, expected ${LIBRARY_FILES}`);
    const rssAfterOpen = readProcSample(server.pid)?.rssBytes ?? 0;
    const lists: { ms: number; bytes: number }[] = [];
    for (let i = 0; i <= CACHED_LISTS; i++) {
      const r = await readList(server.port, LIBRARY_FILES, 30_000);
      if (!r.first.startsWith(`${LIBRARY_FILES - 1}:`) || !r.last.startsWith('0:')) throw new Error(`LIST: wrong order (first "${r.first}", last "${r.last}")`);
      lists.push({ ms: r.ms, bytes: r.bytes });
    }
    const rescan = async (): Promise<number> => {
      const r = await server.rescan();
      if (r.changed || r.files !== LIBRARY_FILES) throw new Error(`rescan of an unchanged library: changed=${r.changed}, ${r.files} files`);
      return r.ms;
    };
    const duringTags: number[] = [];
    for (let i = 0; i < RESCANS; i++) duringTags.push(await rescan());
    const tagPassMs = await server.settle(120_000);
    const settled: number[] = [];
    for (let i = 0; i < RESCANS; i++) settled.push(await rescan());
    await server.stop();
    return {
      openMs: server.scanMs,
      firstListMs: lists[0]!.ms,
      cachedListMs: median(lists.slice(1).map((l) => l.ms)),
      listBytes: lists[0]!.bytes,
      duringTags,
      tagPassMs,
      settled,
      rssAfterOpen,
    };
  };
  const scanRun = async (mode: 'ours' | 'baseline') => {
    const r = await runMeasured(scope, process.execPath, [path.join(paths.distBench, 'scan-baseline.js'), root, ...(mode === 'ours' ? ['ours'] : [])], {
      timeoutMs: 60_000,
      sampleMs: 1000,
    });
    const out = JSON.parse(r.stdout) as { ms: number; files: number };
    if (out.files !== LIBRARY_FILES) throw new Error(`the ${mode} scan found ${out.files} files`);
    return out.ms;
  };

  const runs = ctx.runs(RUNS);
  ctx.log(`100k library: ${runs} fresh servers; scanLibrary alone interleaved with the baseline walk`);
  const servers = [];
  for (let i = 0; i < runs; i++) servers.push(await serverRun());
  const scans = await interleaved(runs, () => scanRun('ours'), () => scanRun('baseline'));

  const open = median(servers.map((r) => r.openMs));
  const scan = median(scans.a);
  const baseScan = median(scans.b);
  const firstList = median(servers.map((r) => r.firstListMs));
  const cachedList = median(servers.map((r) => r.cachedListMs));
  const rescanDuring = median(servers.flatMap((r) => r.duringTags));
  const rescanSettled = median(servers.flatMap((r) => r.settled));
  const k = LIBRARY_FILES / 1000;
  const row = (id: string, scenario: string, ms: number, targetMs: number, extra: Partial<ResultRow> = {}): ResultRow => ({
    id,
    scenario,
    ours: fmtMs(ms),
    oursValue: ms,
    target: `≤ ${fmtMs(targetMs)}`,
    pass: ms <= targetMs,
    unit: 'ms',
    ...extra,
  });
  return {
    rows: [
      row('5a', `Library.open as as-server (scan + watch), ${k}k files`, open, SCAN_TARGET_MS, { samples: { servers } }),
      row('5b', `scanLibrary alone, ${k}k files in ${generated.directories} dirs`, scan, SCAN_TARGET_MS, {
        baseline: fmtMs(baseScan),
        baselineValue: baseScan,
        ratio: baseScan / scan,
        samples: { ours: scans.a, baseline: scans.b },
      }),
      row('5c', `LIST ${k}k files (first, builds the reply)`, firstList, LIST_TARGET_MS),
      row('5d', `LIST ${k}k files (reply cached)`, cachedList, LIST_TARGET_MS),
      row('5e', `rescan, unchanged ${k}k, tag pass running`, rescanDuring, RESCAN_TARGET_MS),
      row('5f', `rescan, unchanged ${k}k, steady state`, rescanSettled, RESCAN_TARGET_MS),
    ],
    notes: [
      `5: generated ${generated.audioFiles} audio + ${generated.otherFiles} other files in ${generated.directories} directories in ${fmtMs(generated.ms)}; the page cache is warm (just written), as on a server that rescans`,
      `5: Library.open per run ${servers.map((r) => fmtMs(r.openMs)).join(' ')}; scanLibrary alone ${scans.a.map(fmtMs).join(' ')}; baseline walk ${scans.b.map(fmtMs).join(' ')}`,
      `5: server RSS just after Library.open: ${servers.map((r) => fmtMB(r.rssAfterOpen)).join(' ')}`,
      `5: LIST reply ${fmtMB(servers[0]!.listBytes)}; first LIST per run ${servers.map((r) => fmtMs(r.firstListMs)).join(' ')}`,
      `5: rescans during the tag pass ${servers.flatMap((r) => r.duringTags).map(fmtMs).join(' ')}; after it ${servers.flatMap((r) => r.settled).map(fmtMs).join(' ')} (max ${fmtMs(max(servers.flatMap((r) => r.settled)))}); the tag pass of ${k}k files took ${servers.map((r) => fmtMs(r.tagPassMs)).join(' ')} more after the first rescans`,
    ],
  };
}
