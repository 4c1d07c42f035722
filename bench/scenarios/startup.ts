import net from 'node:net';
import path from 'node:path';
import type { BenchContext, ScenarioResult } from '../harness/context.js';
import { spawnChild, stopChild } from '../harness/children.js';
import { runMeasured } from '../harness/measured-child.js';
import { paths } from '../harness/paths.js';
import { withTimeout, type Scope } from '../harness/scope.js';
import { fmtMs, interleaved, max, median } from '../harness/stats.js';

/**
 * Scenario 6: start-up costs. `as-client --help` from spawn to exit, and as-server on the
 * sample library from spawn until a connection to the port it announces succeeds. The
 * baselines (bench/bare-startup.ts) are bare Node doing the same visible thing.
 */
const RUNS = 10;
const HELP_TARGET_MS = 150;
const SERVER_TARGET_MS = 300;

export async function startup(ctx: BenchContext, scope: Scope): Promise<ScenarioResult> {
  const bare = path.join(paths.distBench, 'bare-startup.js');
  const help = async (args: string[], expect: string) => {
    const r = await runMeasured(scope, process.execPath, args, { timeoutMs: 10_000, sampleMs: 1000 });
    if (r.exit.code !== 0 || !r.stdout.includes(expect)) throw new Error(`${args.join(' ')}: exit ${r.exit.code}, output ${JSON.stringify(r.stdout.slice(0, 80))}`);
    return r.ms;
  };
  const serverStart = async (args: string[]) => {
    const started = performance.now();
    const child = spawnChild(scope, process.execPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    try {
      const port = await withTimeout(
        new Promise<number>((resolve, reject) => {
          let stderr = '';
          child.stderr!.setEncoding('utf8').on('data', (s: string) => {
            stderr += s;
            const m = / on 127\.0\.0\.1:(\d+)/.exec(stderr);
            if (m) resolve(Number(m[1]));
          });
          child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}) before listening: ${stderr.trim().slice(0, 200)}`)));
        }),
        10_000,
        'server start',
      );
      await new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve();
        });
        s.on('error', reject);
      });
      return performance.now() - started;
    } finally {
      await stopChild(child, 2000);
    }
  };

  const runs = ctx.runs(RUNS);
  ctx.log(`start-up: ${runs} runs each`);
  const helps = await interleaved(runs, () => help([paths.asClient, '--help'], 'Usage: as-client'), () => help([bare, 'help'], 'Usage: bare'));
  const starts = await interleaved(
    runs,
    () => serverStart([paths.asServer, '-p', '0', '--host', '127.0.0.1', '-q', '--rescan', '0', '-l', paths.sampleLibrary]),
    () => serverStart([bare, 'listen']),
  );
  const helpMs = median(helps.a);
  const startMs = median(starts.a);
  return {
    rows: [
      {
        id: '6a',
        scenario: 'as-client --help (spawn → exit)',
        ours: fmtMs(helpMs),
        oursValue: helpMs,
        baseline: fmtMs(median(helps.b)),
        baselineValue: median(helps.b),
        target: `≤ ${HELP_TARGET_MS} ms`,
        pass: helpMs <= HELP_TARGET_MS,
        unit: 'ms',
        samples: { ours: helps.a, baseline: helps.b },
      },
      {
        id: '6b',
        scenario: 'as-server start → accepting (sample library)',
        ours: fmtMs(startMs),
        oursValue: startMs,
        baseline: fmtMs(median(starts.b)),
        baselineValue: median(starts.b),
        target: `≤ ${SERVER_TARGET_MS} ms`,
        pass: startMs <= SERVER_TARGET_MS,
        unit: 'ms',
        samples: { ours: starts.a, baseline: starts.b },
      },
    ],
    notes: [
      `6: baselines are bare Node printing a help text / listening on a port; max ours: --help ${fmtMs(max(helps.a))}, server ${fmtMs(max(starts.a))}`,
    ],
  };
}
