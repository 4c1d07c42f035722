import cliProgress from 'cli-progress';
import { displayText } from './display-text.js';

/** Shows how a transfer goes: a live bar on a terminal, nothing until the summary elsewhere. */
export interface TransferProgress {
  update(bytes: number): void;
  /** Changes the text before the bar (e.g. "get 3/7"). */
  setLabel(label: string): void;
  /** Removes the bar; returns the summary line, e.g. "1.20 MB in 0.31 s, 3.87 MB/s". */
  finish(bytes: number): string;
  /** On a terminal: prints a line (already escaped) above the bar, which stays below it. */
  above?(line: string): void;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(2)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

function rate(bytes: number, ms: number): string {
  return ms <= 0 ? '-' : `${((bytes / 1e6) / (ms / 1000)).toFixed(2)} MB/s`;
}

/** "1.20 MB in 0.31 s, 3.87 MB/s" */
export function describeTransfer(bytes: number, ms: number): string {
  return `${formatBytes(bytes)} in ${(ms / 1000).toFixed(2)} s, ${rate(bytes, ms)}`;
}

/**
 * A progress display for `total` bytes. The label may hold a server's file name: it is
 * escaped here, where it goes to the terminal (the bar does not pass through ShellOutput).
 */
export function createProgress(label: string, total: number, output: NodeJS.WriteStream | null): TransferProgress {
  const started = performance.now();
  const summary = (bytes: number): string => describeTransfer(bytes, performance.now() - started);
  if (!output?.isTTY || total === 0) {
    return { update() {}, setLabel() {}, finish: summary };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: output,
      format: `{label} [{bar}] {percentage}% | {done} of {all} | {speed} | {eta_formatted} left`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
      formatValue: (v, _options, type) => (type === 'percentage' ? String(v).padStart(3) : String(v)),
    },
    cliProgress.Presets.shades_classic,
  );
  let finished = false;
  bar.start(total, 0, { label: displayText(label), speed: '-', done: formatBytes(0), all: formatBytes(total) });
  return {
    above(line) {
      if (finished) return;
      // Clear the bar's row, print the line, and let the bar draw itself on the next row.
      // The bar saved the cursor (ESC 7) where it started and goes back there when it stops
      // (ESC 8): save it again on the new row, or the stop lands on the first line printed
      // here and what follows overwrites the failures. The bar turns line wrapping off
      // (CSI ?7l) so that it never takes two rows: on for the line, or a long one is cut off
      // at the terminal's edge.
      output.write(`\r\x1b[2K\x1b[?7h${line}\n\x1b7\x1b[?7l`);
      bar.render();
    },
    setLabel(text) {
      bar.update({ label: displayText(text) });
    },
    update(bytes) {
      bar.update(bytes, { speed: rate(bytes, performance.now() - started), done: formatBytes(bytes) });
    },
    finish(bytes) {
      // Idempotent: a failure path may finish a bar that already finished.
      if (!finished) {
        finished = true;
        bar.update(bytes);
        bar.stop();
      }
      return summary(bytes);
    },
  };
}
