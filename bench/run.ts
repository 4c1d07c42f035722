/**
 * The audiostream benchmark: `npm run bench` (builds, then runs this).
 *
 *   node dist/bench/run.js [--only 1,3] [--quick] [--profile DIR] [--json FILE] [--read-chunk BYTES]
 *
 * Runs the scenarios of docs/BENCHMARKS.md against real processes on loopback, prints a
 * table, and writes bench/results.json (after a full run, or to --json). Bounded to 20
 * minutes; every child is stopped and every temporary file removed on the way out, on
 * failure too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAllChildrenNow } from './harness/children.js';
import type { BenchContext, ScenarioResult } from './harness/context.js';
import { benchTempDir, removeBenchTempDir } from './harness/fixtures.js';
import { paths } from './harness/paths.js';
import { machineInfo, markdownTable, textTable, type ScenarioOutcome } from './harness/report.js';
import { Scope, withTimeout } from './harness/scope.js';
import { clientGet } from './scenarios/client-get.js';
import { clientStream } from './scenarios/client-stream.js';
import { firstListingScenario } from './scenarios/first-listing.js';
import { largeLibrary } from './scenarios/large-library.js';
import { manyClients } from './scenarios/many-clients.js';
import { playerIpc } from './scenarios/player-ipc.js';
import { startup } from './scenarios/startup.js';
import { streamThroughput } from './scenarios/stream-throughput.js';
import { restart } from './scenarios/restart.js';
import { tagScan } from './scenarios/tag-scan.js';
import { tlsAndLogin } from './scenarios/tls-and-login.js';
import { subsonicSideBySide } from './scenarios/subsonic.js';
import { webInterface } from './scenarios/web.js';

const TOTAL_LIMIT_MS = 20 * 60 * 1000;

interface Scenario {
  id: string;
  title: string;
  limitMs: number;
  run: (ctx: BenchContext, scope: Scope) => Promise<ScenarioResult>;
}

const SCENARIOS: Scenario[] = [
  { id: '1', title: 'STREAM 1 GiB throughput', limitMs: 120_000, run: streamThroughput },
  { id: '2', title: '1,000 clients; 10,000 idle connections', limitMs: 150_000, run: manyClients },
  { id: '3', title: 'client get 1 GiB', limitMs: 150_000, run: clientGet },
  { id: '4', title: 'client stream into a slow player', limitMs: 150_000, run: clientStream },
  { id: '5', title: '100,000-file library', limitMs: 150_000, run: largeLibrary },
  { id: '6', title: 'start-up', limitMs: 60_000, run: startup },
  { id: '7', title: 'tags of real audio files', limitMs: 120_000, run: tagScan },
  { id: '8', title: 'time to the first listing', limitMs: 60_000, run: firstListingScenario },
  { id: '9', title: 'playing through mpv over its IPC', limitMs: 240_000, run: playerIpc },
  { id: '10', title: 'TLS and login', limitMs: 180_000, run: tlsAndLogin },
  { id: '11', title: 'restart on the library database, with MPD side by side', limitMs: 600_000, run: restart },
  { id: '12', title: 'web interface (HTTP vs nginx, ranges, page, search)', limitMs: 240_000, run: webInterface },
  { id: '13', title: 'Subsonic API side by side with supysonic (scan, search3, stream)', limitMs: 600_000, run: subsonicSideBySide },
];

const USAGE = `usage: node dist/bench/run.js [--only ID,ID] [--quick] [--profile DIR] [--json FILE] [--read-chunk BYTES]
scenarios: ${SCENARIOS.map((s) => s.id).join(' ')} (docs/BENCHMARKS.md)
`;

let args: { only?: string; quick?: boolean; profile?: string; json?: string; 'read-chunk'?: string; help?: boolean };
try {
  ({ values: args } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean' },
      profile: { type: 'string' },
      json: { type: 'string' },
      'read-chunk': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const only = args.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
if (unknown.length > 0) {
  process.stderr.write(`bench: no scenario ${unknown.join(', ')}\n${USAGE}`);
  process.exit(2);
}
const chosen = SCENARIOS.filter((s) => !only || only.includes(s.id));
const profileDir = args.profile ? path.resolve(args.profile) : undefined;
if (profileDir) fs.mkdirSync(profileDir, { recursive: true });

const started = performance.now();
const outcomes: ScenarioOutcome[] = [];
const log = (message: string): void => {
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
};

// Whatever happens, no child outlives us and no temporary file stays behind.
process.on('exit', () => {
  killAllChildrenNow();
  removeBenchTempDir();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  log(`the bench ran past its ${TOTAL_LIMIT_MS / 60000}-minute bound: stopping`);
  report(true);
  process.exit(1);
}, TOTAL_LIMIT_MS);
watchdog.unref();

async function main(): Promise<void> {
  log(`temporary files under ${benchTempDir()}`);
  if (profileDir) log(`CPU profiles go to ${profileDir} (profiling slows what it measures)`);
  const ctx: BenchContext = {
    runs: (n) => (args.quick ? Math.min(n, 2) : n),
    quick: args.quick === true,
    profileDir,
    readChunkSize: args['read-chunk'] ? Number(args['read-chunk']) : undefined,
    log,
  };
  for (const scenario of chosen) {
    const remaining = TOTAL_LIMIT_MS - (performance.now() - started) - 5000;
    log(`scenario ${scenario.id}: ${scenario.title}`);
    const scope = new Scope();
    const t0 = performance.now();
    const loadBefore = loadAverage();
    try {
      const result = await withTimeout(scenario.run(ctx, scope), Math.min(scenario.limitMs, remaining), `scenario ${scenario.id}`);
      result.notes.push(`${scenario.id}: took ${((performance.now() - t0) / 1000).toFixed(0)} s; load average ${loadBefore} → ${loadAverage()} (2 cores: above ~2 something else was running)`);
      outcomes.push({ id: scenario.id, title: scenario.title, ...result, ms: performance.now() - t0 });
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      log(`scenario ${scenario.id} failed: ${message}`);
      outcomes.push({ id: scenario.id, title: scenario.title, rows: [], notes: [], error: message, ms: performance.now() - t0 });
    } finally {
      await scope.close();
    }
  }
  report(false);
}

/** The 1-minute load average: how busy the machine was with other things too. */
function loadAverage(): string {
  return os.loadavg()[0]!.toFixed(2);
}

function report(partial: boolean): void {
  const totalMs = performance.now() - started;
  process.stdout.write(`\n${textTable(outcomes)}\n\n`);
  for (const o of outcomes) for (const note of o.notes) process.stdout.write(`  ${note}\n`);
  const machine = machineInfo();
  process.stdout.write(`\n${machine.cpuCount} × ${machine.cpuModel}, ${((machine.totalMemBytes as number) / 2 ** 30).toFixed(0)} GiB, Node ${machine.node}; ${(totalMs / 1000).toFixed(0)} s${profileDir ? '; PROFILED (figures are slower than normal)' : ''}\n`);
  const full = chosen.length === SCENARIOS.length && !partial;
  const out = args.json ? path.resolve(args.json) : full ? paths.resultsJson : undefined;
  if (out) {
    const results = {
      machine,
      caveats: [
        'loopback only; 2 cores shared by server, client and anything else running on the machine',
        'decimal units: MB = 10^6 bytes, MB/s = 10^6 bytes per second',
      ],
      profiled: profileDir !== undefined,
      partial,
      totalMs,
      table: markdownTable(outcomes),
      scenarios: outcomes,
    };
    fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`results written to ${path.relative(process.cwd(), out) || out}\n`);
  }
  // A missed target is a figure to read, not a broken run: exit 1 only if a scenario failed to run.
  const missed = outcomes.reduce((n, o) => n + o.rows.filter((r) => r.pass === false).length, 0);
  if (missed > 0) process.stdout.write(`${missed} target${missed === 1 ? '' : 's'} missed (see the table)\n`);
  process.exitCode = outcomes.some((o) => o.error) ? 1 : 0;
}

main()
  .catch((err) => {
    log(`bench failed: ${(err as Error)?.stack ?? err}`);
    process.exitCode = 2;
  })
  .finally(() => {
    clearTimeout(watchdog);
    // Anything a scenario left behind (a socket) must not keep us alive.
    process.exit();
  });
