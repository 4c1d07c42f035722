import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ClientConnection } from '../../../src/client/client-connection.js';
import type { V2Entry } from '../../../src/protocol/index.js';
import { REPO_ROOT } from '../../client/support/paths.js';

const SERVER_BIN = path.join(REPO_ROOT, 'bin', 'as-server');

/** A real `as-server` process (bin/as-server) on 127.0.0.1, port 0, with its log collected. */
export class ServerProcess {
  readonly process: ChildProcess;
  port = 0;
  log = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess) {
    this.process = child;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      this.log += text;
    });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Starts the server and resolves once it listens. */
  static async start(root: string, dataDir: string, ...extra: string[]): Promise<ServerProcess> {
    const child = spawn(process.execPath, [SERVER_BIN, '-l', root, '--data', dataDir, '-p', '0', '--host', '127.0.0.1', '--rescan', '0', ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const server = new ServerProcess(child);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const match = /serving \d+ files? from .* on 127\.0\.0\.1:(\d+)/.exec(server.log);
      if (match) {
        server.port = Number(match[1]);
        return server;
      }
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`as-server did not start:\n${server.log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Resolves once the log matches `pattern` (it may already). */
  async waitForLog(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log)) {
      if (Date.now() > deadline || this.process.exitCode !== null) throw new Error(`waited for ${pattern} in the log:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Every LIST2 record, over a real client connection. */
  async list(): Promise<V2Entry[]> {
    const client = new ClientConnection({ host: '127.0.0.1', port: this.port });
    try {
      await client.connect();
      const { entries } = await client.list();
      return entries.map(({ index: _index, ...record }) => record as V2Entry);
    } finally {
      client.close();
    }
  }

  /** INFO of one file (which computes its SHA-256). */
  async info(file: string): Promise<V2Entry> {
    const client = new ClientConnection({ host: '127.0.0.1', port: this.port });
    try {
      await client.connect();
      return await client.info(file);
    } finally {
      client.close();
    }
  }

  kill9(): Promise<unknown> {
    this.process.kill('SIGKILL');
    return this.exited;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill('SIGTERM');
    await this.exited;
  }
}

/**
 * A port free on 127.0.0.1 now, for a server started as a separate program (which must be
 * told its port): the next bind may in principle race another process for it.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
