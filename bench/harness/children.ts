import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions } from 'node:child_process';
import type { Scope } from './scope.js';

/** Every child the bench started and that has not exited: killed on the way out, whatever happens. */
const live = new Set<ChildProcess>();

function track(scope: Scope, child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  // A child that fails to start emits 'error' and no 'exit'.
  child.once('error', () => live.delete(child));
  scope.defer(() => stopChild(child));
  return child;
}

export function forkChild(scope: Scope, modulePath: string, args: string[], options: ForkOptions = {}): ChildProcess {
  return track(scope, fork(modulePath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...options }));
}

export function spawnChild(scope: Scope, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return track(scope, spawn(command, args, options));
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves when the child has exited and its stdio is closed. */
export function exitOf(child: ChildProcess): Promise<ChildExit> {
  if (hasExited(child) && (child.stdout === null || child.stdout.readableEnded || child.stdout.destroyed)) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', reject);
  });
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** For the process 'exit' handler: synchronous, no grace. */
export function killAllChildrenNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export function liveChildCount(): number {
  return live.size;
}
