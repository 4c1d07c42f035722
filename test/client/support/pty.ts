import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, TEST_CACHE_HOME } from './paths.js';
import { TerminalScreen } from './terminal-screen.js';

/** Programs run on a REAL pseudo-terminal (python3's pty module, test/fixtures/pty/run-in-pty.py). */
export const python = spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0;
export const COLS = 80;
export const ROWS = 24;

export interface PtyRun {
  output: string;
  marks: { label: string; offset: number }[];
  error: string | null;
  exit: number;
}

export type Step = { wait: string } | { wait_new: string; count: number } | { wait_exit: true } | { type: string; gap_ms?: number } | { sleep_ms: number } | { mark: string };

export function runInPty(steps: Step[], command: string[]): Promise<PtyRun> {
  const harness = path.join(REPO_ROOT, 'test/fixtures/pty/run-in-pty.py');
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [harness, String(COLS), String(ROWS), JSON.stringify(steps), '--', ...command], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, XDG_CACHE_HOME: TEST_CACHE_HOME } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.once('error', reject);
    child.once('close', () => {
      try {
        const r = JSON.parse(out) as PtyRun & { output: string };
        resolve({ ...r, output: Buffer.from(r.output, 'base64').toString('utf8') });
      } catch (err) {
        reject(err);
      }
    });
  });
}

export function screenAt(run: PtyRun, label: string): TerminalScreen {
  const mark = run.marks.find((m) => m.label === label);
  assert.ok(mark, `mark ${label}`);
  const screen = new TerminalScreen(COLS, ROWS);
  // Offsets are bytes; the output is UTF-8.
  screen.feed(Buffer.from(run.output, 'utf8').subarray(0, mark.offset).toString('utf8'));
  return screen;
}

