import { readFileSync } from 'node:fs';

/** Memory and CPU of a running process, read from /proc (Linux). */
export interface ProcSample {
  /** Milliseconds since sampling started. */
  t: number;
  rssBytes: number;
  /** Peak resident set size so far (VmHWM). */
  hwmBytes: number;
  /** User + system CPU time so far. */
  cpuMs: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux that Node supports

export function readProcSample(pid: number, t = 0): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    // /proc/PID/stat: the command name is in parentheses and may hold spaces; fields after ')' are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(after[11]) + Number(after[12]); // utime, stime (fields 14 and 15)
    return { t, rssBytes: kib('VmRSS'), hwmBytes: kib('VmHWM'), cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined; // the process has gone
  }
}

/** Samples a process every `intervalMs` until stopped or the process is gone. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly started = performance.now();

  constructor(private readonly pid: number, intervalMs: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const s = readProcSample(this.pid, performance.now() - this.started);
    if (s) this.samples.push(s);
  }

  stop(): ProcSample[] {
    clearInterval(this.timer);
    return this.samples;
  }

  get peakBytes(): number {
    return Math.max(0, ...this.samples.map((s) => Math.max(s.hwmBytes, s.rssBytes)));
  }

  get last(): ProcSample | undefined {
    return this.samples[this.samples.length - 1];
  }
}

/** The soft limit on open files for `pid` (default: this process), or undefined off Linux. */
export function openFilesLimit(pid: number | 'self' = 'self'): number | undefined {
  try {
    const limits = readFileSync(`/proc/${pid}/limits`, 'latin1');
    const m = /^Max open files\s+(\d+|unlimited)\s+/m.exec(limits);
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return undefined;
  }
}
