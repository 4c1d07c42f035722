import { ClientConnection } from '../../src/client/index.js';
import { startStarterCodeV1Server } from '../../test/doubles/starter-code-v1-server.js';
import { BenchServer } from '../harness/bench-server.js';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { paths } from '../harness/paths.js';
import type { Scope } from '../harness/scope.js';
import { fmtMs, max, median } from '../harness/stats.js';

/**
 * Scenario 8: time to the first listing, as a user's first `list` sees it: a fresh
 * ClientConnection (connect, find out the protocol, list) against our server (v2 must be
 * chosen with no wait: one round trip for HELLO) and against the starter-code v1 double
 * (one request per read: HELLO goes alone, and the client waits a short, round-trip-scaled
 * time for an answer that never comes). Both serve the sample library on loopback.
 */
const RUNS = 15;
const OURS_TARGET_MS = 50;
const V1_TARGET_MS = 500;

async function firstListing(port: number, expectVersion: 1 | 2, files: number): Promise<number> {
  const connection = new ClientConnection({ host: '127.0.0.1', port });
  try {
    const started = performance.now();
    const { entries } = await connection.list();
    const ms = performance.now() - started;
    if (connection.version !== expectVersion || entries.length !== files) {
      throw new Error(`expected v${expectVersion} and ${files} files, got v${connection.version} and ${entries.length}`);
    }
    return ms;
  } finally {
    connection.close();
  }
}

export async function firstListingScenario(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const ours = await BenchServer.start(scope, { kind: 'ours', root: paths.sampleLibrary });
  const double = await startStarterCodeV1Server({ root: paths.sampleLibrary });
  scope.defer(() => double.close());
  const runs = ctx.runs(RUNS);
  ctx.log(`first listing: ${runs} fresh connections to each`);
  const oursMs: number[] = [];
  const v1Ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    oursMs.push(await firstListing(ours.port, 2, ours.files));
    v1Ms.push(await firstListing(double.port, 1, double.files.length));
  }
  return {
    rows: [
      { id: '8a', scenario: 'first list, our server (v2 chosen)', ours: fmtMs(median(oursMs)), oursValue: median(oursMs), target: `≤ ${OURS_TARGET_MS} ms`, pass: median(oursMs) <= OURS_TARGET_MS, unit: 'ms', samples: { ms: oursMs } },
      { id: '8b', scenario: 'first list, starter-code v1 double', ours: fmtMs(median(v1Ms)), oursValue: median(v1Ms), target: `≤ ${V1_TARGET_MS} ms`, pass: max(v1Ms) <= V1_TARGET_MS, unit: 'ms', samples: { ms: v1Ms } },
    ],
    notes: [`8: median of ${runs}; worst ${fmtMs(max(oursMs))} (ours), ${fmtMs(max(v1Ms))} (v1 double, whose figure is mostly the HELLO wait)`],
  };
}
