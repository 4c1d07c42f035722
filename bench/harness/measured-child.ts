import type { SpawnOptions } from 'node:child_process';
import { exitOf, spawnChild, stopChild, type ChildExit } from './children.js';
import { ProcSampler, type ProcSample } from './proc.js';
import type { Scope } from './scope.js';
import { withTimeout } from './scope.js';

export interface MeasuredRun {
  /** From spawn to exit. */
  ms: number;
  exit: ChildExit;
  stdout: string;
  stderr: string;
  samples: ProcSample[];
  /** Largest VmHWM/VmRSS seen (sampled, so a peak between samples can be missed by VmRSS, not by VmHWM). */
  peakBytes: number;
  /** CPU time at the last sample before exit. */
  cpuMs: number;
}

/**
 * Runs a command to completion, feeding `stdin` and sampling its memory and CPU from
 * /proc every `sampleMs`. Killed (and rejected) after `timeoutMs`.
 */
export async function runMeasured(
  scope: Scope,
  command: string,
  args: string[],
  options: { stdin?: string; timeoutMs: number; sampleMs: number; spawn?: SpawnOptions },
): Promise<MeasuredRun> {
  const started = performance.now();
  const child = spawnChild(scope, command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options.spawn });
  const sampler = new ProcSampler(child.pid!, options.sampleMs);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin?.on('error', () => {});
  child.stdin?.end(options.stdin ?? '');
  // Sampling stops at exit (a zombie's /proc status has no memory figures). VmHWM is the
  // kernel's own running peak, so only growth in the last `sampleMs` could be missed.
  let ms = 0;
  child.once('exit', () => {
    ms = performance.now() - started;
    sampler.stop();
  });
  try {
    const exit = await withTimeout(exitOf(child), options.timeoutMs, `${args.slice(-3).join(' ')}`);
    const samples = sampler.stop();
    return {
      ms: ms || performance.now() - started,
      exit,
      stdout,
      stderr,
      samples,
      peakBytes: sampler.peakBytes,
      cpuMs: sampler.last?.cpuMs ?? 0,
    };
  } catch (err) {
    sampler.stop();
    await stopChild(child, 1000);
    throw err;
  }
}
