import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { forkChild, stopChild } from './children.js';
import { paths } from './paths.js';
import type { Scope } from './scope.js';
import { withTimeout } from './scope.js';
import type { FromServerChild, ServerChildConfig, ToServerChild } from './server-messages.js';

export interface BenchServerOptions {
  /** Write a V8 CPU profile of the server into this directory when it stops. */
  profileDir?: string;
  profileName?: string;
  startTimeoutMs?: number;
}

/** A server child (ours or the baseline) seen from the bench: its port, and a few requests over IPC. */
export class BenchServer {
  readonly port: number;
  readonly scanMs: number;
  readonly files: number;
  private readonly child: ChildProcess;

  private constructor(child: ChildProcess, listening: Extract<FromServerChild, { type: 'listening' }>) {
    this.child = child;
    this.port = listening.port;
    this.scanMs = listening.scanMs;
    this.files = listening.files;
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(scope: Scope, config: ServerChildConfig, options: BenchServerOptions = {}): Promise<BenchServer> {
    const execArgv = options.profileDir
      ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir, ...(options.profileName ? ['--cpu-prof-name', options.profileName] : [])]
      : [];
    const child = forkChild(scope, path.join(paths.distBench, 'server-child.js'), [JSON.stringify(config)], { execArgv });
    scope.defer(() => stopServerChild(child));
    const listening = await withTimeout(
      new Promise<Extract<FromServerChild, { type: 'listening' }>>((resolve, reject) => {
        child.on('message', (m: FromServerChild) => {
          if (m.type === 'listening') resolve(m);
          else if (m.type === 'failed') reject(new Error(`${config.kind} server: ${m.message}`));
        });
        child.once('exit', (code, signal) => reject(new Error(`${config.kind} server exited (${code ?? signal}) before listening`)));
      }),
      options.startTimeoutMs ?? 60_000,
      `starting the ${config.kind} server`,
    );
    return new BenchServer(child, listening);
  }

  private ask<K extends FromServerChild['type']>(message: ToServerChild, answer: K, timeoutMs: number): Promise<Extract<FromServerChild, { type: K }>> {
    return withTimeout(
      new Promise((resolve, reject) => {
        const onMessage = (m: FromServerChild): void => {
          if (m.type === answer) {
            this.child.off('message', onMessage);
            resolve(m as Extract<FromServerChild, { type: K }>);
          } else if (m.type === 'failed') {
            this.child.off('message', onMessage);
            reject(new Error(m.message));
          }
        };
        this.child.on('message', onMessage);
        this.child.send(message);
      }),
      timeoutMs,
      `server ${message.type}`,
    );
  }

  rescan(): Promise<Extract<FromServerChild, { type: 'rescanned' }>> {
    return this.ask({ type: 'rescan' }, 'rescanned', 60_000);
  }

  /** Waits for the library's background tag pass to finish; resolves with how long that took. */
  async settle(timeoutMs: number): Promise<number> {
    return (await this.ask({ type: 'settle' }, 'settled', timeoutMs)).ms;
  }

  async connections(): Promise<number> {
    return (await this.ask({ type: 'connections' }, 'connections', 10_000)).count;
  }

  /** Stops the child cleanly (so a CPU profile gets written). */
  stop(): Promise<void> {
    return stopServerChild(this.child);
  }
}

async function stopServerChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send({ type: 'stop' } satisfies ToServerChild);
  const timer = setTimeout(() => void stopChild(child, 2000), 5000);
  await exited;
  clearTimeout(timer);
}
