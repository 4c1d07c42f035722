/**
 * A real `bin/as-server` process for the client hardening tests, and a raw LIST2 reader
 * that waits for what a test needs the server to list (tags are read in the background
 * after the scan). Nothing here uses src/: the raw reader parses the reply from
 * docs/PROTOCOL.md, so that it works whatever the client under test gets wrong.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../../client/support/paths.js';
import { sleep } from './checks.js';

const SERVER_BIN = path.join(REPO_ROOT, 'bin', 'as-server');

export interface ServerProcess {
  port: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `bin/as-server` over `library` on 127.0.0.1, port 0; resolves once it says where it listens. */
export async function startServerProcess(library: string, args: string[] = []): Promise<ServerProcess> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [SERVER_BIN, '-p', '0', '--host', '127.0.0.1', '-l', library, '--rescan', '0', ...args], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`as-server printed no start-up line; stderr: ${stderr}`));
    }, 10_000);
    child.stderr.on('data', () => {
      const m = /serving \d+ files? from .* on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`as-server exited at start; stderr: ${stderr}`));
    });
  });
  return {
    port,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/** The records of a LIST2, each parsed from its JSON line, read over a raw socket. */
export function rawList2(port: number): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let pending = Buffer.alloc(0);
    const lines: string[] = [];
    let count: number | undefined;
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the server closed the LIST2 after ${lines.length} lines`)));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let lf = pending.indexOf(0x0a); lf !== -1; lf = pending.indexOf(0x0a)) {
        lines.push(pending.subarray(0, lf).toString('utf8').replace(/\r$/, ''));
        pending = pending.subarray(lf + 1);
        // lines[0] answers HELLO, lines[1] is `OK <count>`.
        if (lines.length === 2) count = Number(/^OK (\d+)$/.exec(lines[1]!)?.[1] ?? NaN);
        if (count !== undefined && lines.length === 2 + count) {
          socket.removeAllListeners('close');
          socket.destroy();
          resolve(lines.slice(2).map((l) => JSON.parse(l) as Record<string, unknown>));
          return;
        }
      }
    });
    socket.write('HELLO AS/2\r\nLIST2\r\n');
  });
}

/** Polls LIST2 until `check` holds for its records (the background tag pass has got there). */
export async function waitForListing(port: number, what: string, check: (records: Record<string, unknown>[]) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const records = await rawList2(port);
    if (check(records)) return records;
    if (Date.now() > deadline) throw new Error(`timed out waiting until the server lists ${what}`);
    await sleep(50);
  }
}
