/**
 * An AudioServer in a child process, so a test can read the server's own memory and
 * descriptors (/proc/PID) and starve it of descriptors without starving the test runner.
 *
 * This file is both halves. Run by {@link ChildServer.start} (with AS_HARDENING_CHILD=1) it
 * is the child: it serves the library named in its argument, prints `{"port":…}` on stdout,
 * then answers one JSON line per command read from stdin:
 *
 * - `stats`: `{"rss": kB, "fds": n, "connections": n, "heapUsed": bytes}` (after a GC when
 *   node runs with --expose-gc);
 * - `fill`: opens /dev/null until EMFILE, `{"filled": n}`;
 * - `release`: closes what `fill` opened, `{"released": n}`;
 * - `tags`: waits until the library's tag pass has settled, `{"tagFilesRead": n}`.
 *
 * Server log lines go to stderr. Loaded any other way (the test runner loads every file under
 * dist/test) it does nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AudioServerOptions } from '../../../src/server/index.js';

const CHILD_ENV = 'AS_HARDENING_CHILD';

export interface ChildServerOptions {
  root: string;
  server?: Omit<AudioServerOptions, 'library' | 'log'>;
  /** Read tags in the background (on worker threads) as the real server does (default false). */
  readTags?: boolean;
  /** Run the child under `prlimit --nofile=N` (when prlimit is installed). */
  nofile?: number;
}

export interface ChildStats {
  rss: number;
  fds: number;
  connections: number;
  heapUsed: number;
}

/** True when util-linux prlimit can lower a child's descriptor limit. */
export const HAS_PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].some((p) => existsSync(p));

/** The parent's handle on a server child process. */
export class ChildServer {
  readonly port: number;
  readonly process: ChildProcess;
  private readonly replies: readline.Interface;
  private stderrText = '';
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(child: ChildProcess, replies: readline.Interface, port: number, stderrSoFar: () => string) {
    this.process = child;
    this.replies = replies;
    this.port = port;
    this.stderrText = stderrSoFar();
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrText += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.exit = { code: child.exitCode, signal: child.signalCode };
        resolve();
        return;
      }
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
    });
  }

  /** Spawns the child and resolves once it listens. */
  static async start(options: ChildServerOptions): Promise<ChildServer> {
    const script = fileURLToPath(import.meta.url);
    const nodeArgs = ['--expose-gc', script, JSON.stringify({ root: options.root, server: options.server ?? {}, readTags: options.readTags ?? false })];
    const [command, args] =
      options.nofile !== undefined && HAS_PRLIMIT ? ['prlimit', [`--nofile=${options.nofile}`, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
    const child = spawn(command, args, { env: { ...process.env, [CHILD_ENV]: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    const onStderr = (chunk: Buffer): void => {
      stderr += chunk.toString('utf8');
    };
    child.stderr.on('data', onStderr);
    const replies = readline.createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      replies.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the server child exited (${code}) before listening: ${stderr}`)));
      child.once('error', reject);
    });
    child.stderr.off('data', onStderr);
    const { port } = JSON.parse(first) as { port: number };
    return new ChildServer(child, replies, port, () => stderr);
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** Everything the child logged so far. */
  get log(): string {
    return this.stderrText;
  }

  /** Null while the child runs; how it ended otherwise. */
  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exit;
  }

  async stats(): Promise<ChildStats> {
    return (await this.command('stats')) as unknown as ChildStats;
  }

  async command(cmd: 'stats' | 'fill' | 'release' | 'tags'): Promise<Record<string, number>> {
    if (this.exit) throw new Error(`the server child has exited (${JSON.stringify(this.exit)}): ${this.stderrText}`);
    const reply = new Promise<string>((resolve, reject) => {
      const onExit = (): void => reject(new Error(`the server child exited during "${cmd}": ${this.stderrText}`));
      this.process.once('exit', onExit);
      this.replies.once('line', (line) => {
        this.process.off('exit', onExit);
        resolve(line);
      });
    });
    this.process.stdin!.write(`${cmd}\n`);
    return JSON.parse(await reply) as Record<string, number>;
  }

  /** Stops the child (SIGTERM, then SIGKILL after 2 s) and waits for it. */
  async stop(): Promise<void> {
    if (this.exit) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 2_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The child's side: serve, then answer commands. */
async function runChild(): Promise<void> {
  const { Library } = await import('../../../src/library/index.js');
  const { AudioServer, createLogger } = await import('../../../src/server/index.js');
  const options = JSON.parse(process.argv[2]!) as { root: string; server: Omit<AudioServerOptions, 'library' | 'log'>; readTags: boolean };
  const log = createLogger();
  const library = await Library.open(options.root, { rescanIntervalMs: 0, watchDebounceMs: 0, readTags: options.readTags, onTagError: (err) => log.warn(`tags: ${err.message}`), onSkip: (p, reason) => log.warn(`skipped ${JSON.stringify(p)}: ${reason}`) });
  const server = new AudioServer({ ...options.server, library, log });
  const address = await server.listen(0, '127.0.0.1');
  const held: number[] = [];
  const reply = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('SIGTERM', () => {
    library.close();
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 1_000).unref();
  });
  readline.createInterface({ input: process.stdin }).on('line', (cmd) => {
    switch (cmd.trim()) {
      case 'stats': {
        gc?.();
        // Reading /proc needs a descriptor too: -1 while `fill` holds them all.
        let rss = -1;
        let fds = -1;
        try {
          rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
          fds = readdirSync('/proc/self/fd').length - 1; // minus the one readdir held
        } catch {}
        reply({ rss, fds, connections: server.connectionCount, heapUsed: process.memoryUsage().heapUsed });
        break;
      }
      case 'tags':
        void library.tagsSettled().then(() => reply({ tagFilesRead: library.tagFilesRead }));
        break;
      case 'fill':
        for (;;) {
          try {
            held.push(openSync('/dev/null', 'r'));
          } catch {
            break; // EMFILE (or ENFILE): the process is out of descriptors
          }
        }
        reply({ filled: held.length });
        break;
      case 'release': {
        const n = held.length;
        for (const fd of held.splice(0)) closeSync(fd);
        reply({ released: n });
        break;
      }
      default:
        reply({ error: `unknown command ${cmd}` });
    }
  });
  reply({ port: address.port });
}

if (process.env[CHILD_ENV] === '1' && process.argv[1] === fileURLToPath(import.meta.url)) {
  runChild().catch((err: unknown) => {
    process.stderr.write(`server child failed: ${String(err)}\n`);
    process.exit(1);
  });
}
