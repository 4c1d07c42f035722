import { spawn } from 'node:child_process';
import { CLIENT_BIN, TEST_CACHE_HOME } from './paths.js';

export interface ClientRun {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ClientOptions {
  /** Extra environment; AS_PLAYER from the test's own environment is never passed on. */
  env?: Record<string, string>;
  /** Options for node itself, before the script (e.g. `--import` a preload). */
  nodeArgs?: string[];
  /** The client is killed (SIGKILL) and the run fails after this long. */
  timeoutMs?: number;
}

/** A running `bin/as-client` with piped stdin, stdout and stderr. */
export interface ClientSession {
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
  write(text: string): void;
  /** Resolves once the whole output so far on `stream` matches `pattern`. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp): Promise<void>;
  /** Ends stdin and resolves when the client exits. */
  end(): Promise<ClientRun>;
  /** Resolves when the client exits (rejects if it had to be killed). */
  readonly exited: Promise<ClientRun>;
}

/** Starts the real CLI (`node bin/as-client ARGS`), killed after `timeoutMs` so nothing hangs. */
export function startClient(args: string[], options: ClientOptions = {}): ClientSession {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: TEST_CACHE_HOME, ...options.env };
  if (!options.env?.AS_PLAYER) delete env.AS_PLAYER;
  // A process group of its own, so that a timeout kills the client and its player.
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLIENT_BIN, ...args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const notify = (): void => waiters.forEach((check) => check());
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    notify();
  });
  child.stdin.on('error', () => {}); // the client may leave before reading everything
  const timeoutMs = options.timeoutMs ?? 15_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, timeoutMs);
  const exited = new Promise<ClientRun>((resolve, reject) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      notify();
      if (timedOut) {
        reject(new Error(`as-client ${args.join(' ')} did not finish within ${timeoutMs} ms and was killed\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`));
      } else {
        resolve({ stdout, stderr, code, signal });
      }
    });
  });
  let closed = false;
  exited.then(
    () => (closed = true),
    () => (closed = true),
  );
  return {
    pid: child.pid!,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    write(text) {
      child.stdin.write(text);
    },
    waitFor(stream, pattern) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          const text = stream === 'stdout' ? stdout : stderr;
          if (pattern.test(text)) {
            waiters.delete(check);
            resolve();
          } else if (closed || child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`as-client exited before its ${stream} matched ${pattern}\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    end() {
      child.stdin.end();
      return exited;
    },
    exited,
  };
}

/** Runs the CLI with `input` piped to stdin (then EOF) and collects what it printed. */
export function runClient(args: string[], input: string, options: ClientOptions = {}): Promise<ClientRun> {
  const session = startClient(args, options);
  session.write(input);
  return session.end();
}

/** The usual arguments: loopback server at `port`, local library `library`, and a player. */
export function clientArgs(port: number, library: string, player?: string): string[] {
  const args = ['-a', '127.0.0.1', '-p', String(port), '-l', library];
  if (player !== undefined) args.push('--player', player);
  return args;
}

/** A one-line description of a run, for assertion messages. */
export function describeRun(run: ClientRun): string {
  return `exit ${run.code ?? run.signal}\n--- stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}`;
}
