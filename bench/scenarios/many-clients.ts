import { BenchServer } from '../harness/bench-server.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { MiB, libraryOfOne } from '../harness/fixtures.js';
import { ProcSampler, openFilesLimit, readProcSample } from '../harness/proc.js';
import { sleep, type Scope } from '../harness/scope.js';
import { openIdleConnections, readList, readStream, sha256File } from '../harness/socket-readers.js';
import { fmtMB, fmtMs, fmtRate, max, mbPerSecond, median } from '../harness/stats.js';
import type { ResultRow } from '../harness/report.js';

/** Scenario 2: many clients at once, then many idle connections while LIST stays quick. */
export const CLIENTS = 1000;
export const CLIENT_FILE_SIZE = 4 * MiB;
const HASHED_CLIENTS = [0, 333, 666, 999];
const STORM_RUNS = 3;
export const IDLE_CONNECTIONS = 10_000;
/** File descriptors kept free (for the bench itself) when scaling the idle count to the limit. */
const FD_RESERVE = 512;
/**
 * Idle connections per source address (127.0.0.2, .3, …): the server caps connections per
 * address (2,000 by default), and 10,000 idle clients are many hosts, not one.
 */
const IDLE_PER_ADDRESS = 1000;
const LIST_RUNS = 15;
const LIST_TARGET_MS = 50;

export async function manyClients(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const { root, file } = libraryOfOne('one-small', 'track-4MiB.mp3', CLIENT_FILE_SIZE);
  const expectedSha = await sha256File(file);
  const server = await BenchServer.start(scope, { kind: 'ours', root, readChunkSize: ctx.readChunkSize });
  const rows: ResultRow[] = [];
  const notes: string[] = [];

  // --- 2a: CLIENTS streaming at once ---
  const storms: { ms: number; failed: number; wrong: number; mbs: number; serverPeakBytes: number }[] = [];
  const sampler = new ProcSampler(server.pid, 100);
  scope.defer(() => void sampler.stop());
  for (let run = 0; run < ctx.runs(STORM_RUNS); run++) {
    ctx.log(`${CLIENTS} clients × 4 MiB: run ${run + 1}`);
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: CLIENTS }, (_, i) => readStream(server.port, 0, { hash: HASHED_CLIENTS.includes(i), timeoutMs: 120_000, signal: scope.signal })),
    );
    const ms = performance.now() - started;
    let failed = 0;
    let wrong = 0;
    const errors = new Set<string>();
    for (const r of results) {
      if (r.status === 'rejected') {
        failed++;
        errors.add(String((r.reason as Error)?.message ?? r.reason));
      } else if (r.value.size !== CLIENT_FILE_SIZE || r.value.bytes !== CLIENT_FILE_SIZE || (r.value.sha256 !== undefined && r.value.sha256 !== expectedSha)) {
        wrong++;
      }
    }
    if (errors.size > 0) notes.push(`run ${run + 1}: ${failed} failed: ${[...errors].slice(0, 3).join('; ')}`);
    storms.push({ ms, failed, wrong, mbs: mbPerSecond(CLIENTS * CLIENT_FILE_SIZE, ms), serverPeakBytes: sampler.peakBytes });
  }
  sampler.stop();
  const stormOk = storms.every((s) => s.failed === 0 && s.wrong === 0);
  const stormMs = median(storms.map((s) => s.ms));
  rows.push({
    id: '2a',
    scenario: `${CLIENTS} clients × STREAM 4 MiB at once`,
    ours: `${fmtMs(stormMs)}, ${fmtRate(median(storms.map((s) => s.mbs)))}`,
    oursValue: stormMs,
    target: `all ${CLIENTS} complete, bytes right`,
    pass: stormOk,
    unit: 'ms',
    samples: { runs: storms },
  });
  notes.push(
    `2a: per run ${storms.map((s) => `${fmtMs(s.ms)} (${s.failed} failed, ${s.wrong} wrong)`).join('; ')}; sha256 checked on ${HASHED_CLIENTS.length} clients per run; server peak RSS ${fmtMB(max(storms.map((s) => s.serverPeakBytes)))}`,
  );

  // --- 2b: LIST on a fresh connection, without and then with IDLE_CONNECTIONS idle ones ---
  const limit = Math.min(openFilesLimit() ?? Number.POSITIVE_INFINITY, openFilesLimit(server.pid) ?? Number.POSITIVE_INFINITY);
  const idle = Math.max(0, Math.min(IDLE_CONNECTIONS, limit - FD_RESERVE));
  if (idle < IDLE_CONNECTIONS) {
    notes.push(`2b: the open-files limit is ${limit} (Node cannot raise it): holding ${idle} idle connections instead of ${IDLE_CONNECTIONS}`);
    ctx.log(`note: open-files limit ${limit}: scaling idle connections down to ${idle}`);
  }
  const timeLists = async (): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < LIST_RUNS; i++) {
      const r = await readList(server.port, 1, 10_000);
      if (r.last !== '0:track-4MiB.mp3') throw new Error(`LIST: unexpected reply "${r.last}"`);
      times.push(r.ms);
      await sleep(20);
    }
    return times;
  };
  const quiet = await timeLists();
  ctx.log(`opening ${idle} idle connections`);
  const rssBefore = readProcSample(server.pid)?.rssBytes ?? 0;
  const openStarted = performance.now();
  const held = await openIdleConnections(server.port, idle, { batch: 500, perAddress: IDLE_PER_ADDRESS, timeoutMs: 30_000 });
  scope.defer(() => held.close());
  const openMs = performance.now() - openStarted;
  for (let waited = 0; (await server.connections()) < idle; waited += 100) {
    if (held.closedByPeer() > 0 || waited > 30_000) {
      throw new Error(`the server holds ${await server.connections()} of ${idle} idle connections (${held.closedByPeer()} closed by it)`);
    }
    await sleep(100);
  }
  const rssWithIdle = readProcSample(server.pid)?.rssBytes ?? 0;
  const busy = await timeLists();
  held.close();
  const listMs = median(busy);
  rows.push({
    id: '2b',
    scenario: `LIST, fresh connection, ${idle} idle connections held`,
    ours: fmtMs(listMs),
    oursValue: listMs,
    baseline: `${fmtMs(median(quiet))} (0 idle)`,
    baselineValue: median(quiet),
    target: `< ${LIST_TARGET_MS} ms`,
    pass: listMs < LIST_TARGET_MS,
    unit: 'ms',
    samples: { withIdle: busy, withoutIdle: quiet, idle, openMs, serverRssBefore: rssBefore, serverRssWithIdle: rssWithIdle },
  });
  notes.push(
    `2b: LIST median/max with ${idle} idle: ${fmtMs(listMs)}/${fmtMs(max(busy))}, without: ${fmtMs(median(quiet))}/${fmtMs(max(quiet))}; opening them took ${fmtMs(openMs)}; server RSS ${fmtMB(rssBefore)} → ${fmtMB(rssWithIdle)} (${(((rssWithIdle - rssBefore) / Math.max(1, idle)) / 1024).toFixed(1)} KiB per idle connection)`,
  );
  return { rows, notes };
}
