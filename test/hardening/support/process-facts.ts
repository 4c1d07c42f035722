/**
 * What a process holds, read from Linux /proc: open file descriptors and resident memory.
 * Tests that need these skip (with a reason) where /proc is missing.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** True where /proc/self/fd can be read (Linux). */
export const HAS_PROC_FD = existsSync('/proc/self/fd');

/** Open file descriptors of `pid` (default: this process). */
export function openFdCount(pid: number | 'self' = 'self'): number {
  // readdir itself opens one descriptor while it runs; it is listed for 'self' but closed
  // again right after, so subtract it to count what stays open.
  const n = readdirSync(`/proc/${pid}/fd`).length;
  return pid === 'self' ? n - 1 : n;
}

/** Resident set size of `pid` in kB (VmRSS). */
export function rssKb(pid: number | 'self' = 'self'): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Peak resident set size of `pid` in kB so far (VmHWM): catches a spike between samples. */
export function peakRssKb(pid: number | 'self' = 'self'): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]);
}

/**
 * Polls `probe` every 20 ms until `accept(value)`; returns the last value. Fails after
 * `timeoutMs` with `what` and the last value seen (a hang is the bug here, not slowness).
 */
export async function pollUntil<T>(probe: () => T | Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
