import os from 'node:os';

/** One line of the results table. */
export interface ResultRow {
  /** e.g. "1" or "2b": the scenario it belongs to. */
  id: string;
  scenario: string;
  /** Our figure, formatted, and the raw number (unit in `unit`). */
  ours: string;
  oursValue: number;
  baseline?: string;
  baselineValue?: number;
  /** ours/baseline as a throughput ratio (higher is better), when there is a baseline. */
  ratio?: number;
  target: string;
  /** null: informational, no target. */
  pass: boolean | null;
  unit: string;
  /** Every sample, for results.json. */
  samples?: Record<string, unknown>;
  notes?: string[];
}

export interface ScenarioOutcome {
  id: string;
  title: string;
  rows: ResultRow[];
  notes: string[];
  error?: string;
  ms: number;
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemBytes: os.totalmem(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function cells(row: ResultRow): string[] {
  const verdict = row.pass === null ? 'info' : row.pass ? 'PASS' : 'FAIL';
  return [row.id, row.scenario, row.ours, row.baseline ?? '-', row.ratio === undefined ? '-' : row.ratio.toFixed(2), row.target, verdict];
}

const HEADINGS = ['#', 'scenario', 'ours', 'baseline', 'ratio', 'target', 'result'];

/** The table as aligned text, for the terminal. */
export function textTable(outcomes: readonly ScenarioOutcome[]): string {
  const rows = outcomes.flatMap((o) => (o.error ? [errorRow(o)] : o.rows)).map(cells);
  const widths = HEADINGS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd();
  return [line(HEADINGS), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The same table in Markdown, for docs/BENCHMARKS.md. */
export function markdownTable(outcomes: readonly ScenarioOutcome[]): string {
  const rows = outcomes.flatMap((o) => (o.error ? [errorRow(o)] : o.rows)).map(cells);
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [`| ${HEADINGS.join(' | ')} |`, `|${HEADINGS.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function errorRow(o: ScenarioOutcome): ResultRow {
  return { id: o.id, scenario: `${o.title}: did not finish (${o.error})`, ours: '-', oursValue: Number.NaN, target: '-', pass: false, unit: '' };
}
