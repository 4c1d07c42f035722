/**
 * Test harness for anything that talks to a real AudioServer: temporary library
 * directories, a server on 127.0.0.1 port 0, a raw socket client that records every byte
 * it receives, and SHA-256 helpers.
 *
 * Everything a harness creates is released by {@link TestHarness.cleanup}; register it
 * once per file or suite:
 *
 * ```ts
 * const harness = new TestHarness();
 * after(() => harness.cleanup());
 *
 * test('LIST', { timeout: 10_000 }, async () => {
 *   const root = await harness.library({ 'a.mp3': Buffer.from([1, 2, 3]) });
 *   const server = await harness.startServer({ root });
 *   const client = await harness.connect(server.port);
 *   await client.send(LIST_REQUEST);
 *   await client.end();
 *   const { received } = await client.waitForClose();
 * });
 * ```
 *
 * Nothing here imports from src/protocol: replies are checked with test/support/wire.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Library, type LibraryOptions } from '../../src/library/index.js';
import { AudioServer, type AudioServerOptions, type Logger } from '../../src/server/index.js';

/** Loopback only: tests never listen on or connect to anything else. */
export const TEST_HOST = '127.0.0.1';

/** How long a harness wait lasts before it rejects with a message saying what it waited for. */
export const DEFAULT_WAIT_MS = 5_000;

/** Files to create, by `/`-separated relative path; a string is written as UTF-8. */
export type LibraryFiles = Record<string, Buffer | string>;

/** One line the server logged. */
export interface LogLine {
  level: 'info' | 'warn';
  message: string;
}

/** A Logger that keeps every line in memory, so a test can show or inspect them. */
export class CapturingLogger implements Logger {
  readonly lines: LogLine[] = [];
  info(message: string): void {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  /** The warnings only (a connection closed on error logs one). */
  get warnings(): string[] {
    return this.lines.filter((l) => l.level === 'warn').map((l) => l.message);
  }
}

export interface StartServerOptions {
  /** The library directory to serve. */
  root: string;
  /**
   * Passed to Library.open. Periodic rescans, the directory watcher and the background tag
   * pass are off unless asked for (`rescanIntervalMs`, `watchDebounceMs`, `readTags`), so a
   * test decides when the library changes; call `library.rescan()` to rescan.
   */
  library?: Omit<LibraryOptions, 'onSkip'>;
  /** Passed to AudioServer (library and log are filled in by the harness). */
  server?: Omit<AudioServerOptions, 'library' | 'log'>;
}

/** A server listening on {@link TEST_HOST} and a port the kernel picked. */
export interface RunningServer {
  server: AudioServer;
  library: Library;
  root: string;
  host: string;
  port: number;
  log: CapturingLogger;
  /** What the scans skipped, in the order reported. */
  skipped: { path: string; reason: string }[];
  /** Stops the server and its library (also done by cleanup; calling twice is harmless). */
  close(): Promise<void>;
}

/** How a raw client's connection ended. */
export interface CloseInfo {
  /** Every byte received over the connection's life. */
  received: Buffer;
  /** The server ended its side cleanly (FIN) rather than the socket failing. */
  endedByPeer: boolean;
  /** The socket closed because of an error (for example a reset). */
  hadError: boolean;
}

export interface ConnectOptions {
  host?: string;
  /** Source address (any of 127.0.0.0/8 on Linux), to appear as a different client address. */
  localAddress?: string;
  /**
   * Start paused: the client reads nothing from the kernel until {@link RawClient.resume},
   * so a server writing to it eventually meets backpressure (a "slow client").
   */
  paused?: boolean;
}

/**
 * A plain TCP client that sends bytes exactly as given and records every byte received.
 * Nagle is off, so separate `send` calls separated by a delay leave as separate segments.
 */
export class RawClient {
  readonly socket: net.Socket;
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private joined: Buffer | undefined;
  private waiters: (() => void)[] = [];
  private ended = false;
  private closeInfo: CloseInfo | undefined;
  private readonly closedPromise: Promise<CloseInfo>;

  /** Use {@link TestHarness.connect} or {@link RawClient.connect}. */
  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      this.joined = undefined;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('error', () => {}); // reported through CloseInfo.hadError
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', (hadError: boolean) => {
        this.closeInfo = { received: this.received, endedByPeer: this.ended, hadError };
        this.wake();
        resolve(this.closeInfo);
      });
    });
  }

  /** Connects to `port` on loopback; prefer {@link TestHarness.connect}, which also cleans up. */
  static connect(port: number, options: ConnectOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: options.host ?? TEST_HOST, port, noDelay: true, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
      const client = new RawClient(socket);
      if (options.paused) socket.pause();
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  /** Every byte received so far, as one buffer. */
  get received(): Buffer {
    this.joined ??= Buffer.concat(this.chunks, this.length);
    return this.joined;
  }

  /** How many bytes have arrived so far. */
  get receivedLength(): number {
    return this.length;
  }

  /** True once the socket has closed. */
  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  /** Writes `bytes` and resolves once they have been handed to the kernel. */
  send(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Half-closes: sends FIN after pending writes; replies can still arrive. */
  end(): Promise<void> {
    return new Promise((resolve) => this.socket.end(resolve));
  }

  /** Stops reading from the kernel (see {@link ConnectOptions.paused}). */
  pause(): void {
    this.socket.pause();
  }

  /** Reads again after {@link pause}. */
  resume(): void {
    this.socket.resume();
  }

  /** Closes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Resolves with everything received once at least `n` bytes have arrived. Rejects if the
   * connection closes first or after `timeoutMs`, saying how many bytes did arrive.
   * A paused client receives nothing: resume it first.
   */
  waitForBytes(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    return this.waitFor(
      () => this.length >= n,
      () => this.isClosed,
      timeoutMs,
      () => `waiting for ${n} bytes: connection closed after ${this.length}`,
      () => `waiting for ${n} bytes: only ${this.length} arrived in ${timeoutMs} ms`,
    ).then(() => this.received);
  }

  /** Resolves when the connection has closed; rejects after `timeoutMs` if it stays open. */
  async waitForClose(timeoutMs = DEFAULT_WAIT_MS): Promise<CloseInfo> {
    await this.waitFor(
      () => this.isClosed,
      () => false,
      timeoutMs,
      () => 'unreachable',
      () => `waiting for the server to close the connection: still open after ${timeoutMs} ms (${this.length} bytes received)`,
    );
    return this.closedPromise;
  }

  private waitFor(
    done: () => boolean,
    failed: () => boolean,
    timeoutMs: number,
    failMessage: () => string,
    timeoutMessage: () => string,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (done()) {
          clearTimeout(timer);
          resolve();
          return true;
        }
        if (failed()) {
          clearTimeout(timer);
          reject(new Error(failMessage()));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(timeoutMessage()));
      }, timeoutMs);
      const waiter = (): void => {
        if (check()) this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      if (!check()) this.waiters.push(waiter);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * Owns the temporary directories, servers and clients of a test file and releases them all
 * in {@link cleanup}. Generic on purpose: server and client tests share it.
 */
export class TestHarness {
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  /** Registers something to undo in {@link cleanup} (run last-registered first). */
  defer(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  /** A new empty directory under the OS temp dir, removed in cleanup. */
  async tempDir(prefix = 'audiostream-test-'): Promise<string> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
    this.defer(() => fsp.rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A new temporary library directory holding `files` (see {@link writeFiles}). */
  async library(files: LibraryFiles = {}): Promise<string> {
    const root = await this.tempDir('audiostream-library-');
    await writeFiles(root, files);
    return root;
  }

  /**
   * Opens a Library on `root` (no periodic rescans unless asked) and starts an AudioServer
   * for it on 127.0.0.1, port 0. The server logs into a {@link CapturingLogger}.
   */
  async startServer(options: StartServerOptions): Promise<RunningServer> {
    const skipped: { path: string; reason: string }[] = [];
    const log = new CapturingLogger();
    const library = await Library.open(options.root, {
      rescanIntervalMs: 0,
      watchDebounceMs: 0,
      readTags: false,
      ...options.library,
      onSkip: (p, reason) => skipped.push({ path: p, reason }),
    });
    const server = new AudioServer({ ...options.server, library, log });
    let address;
    try {
      address = await server.listen(0, TEST_HOST);
    } catch (err) {
      library.close();
      throw err;
    }
    let closed: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closed ??= (async () => {
        library.close();
        await server.close();
      })();
      return closed;
    };
    this.defer(close);
    return { server, library, root: options.root, host: TEST_HOST, port: address.port, log, skipped, close };
  }

  /** A {@link RawClient} connected to `port`, destroyed in cleanup. */
  async connect(port: number, options: ConnectOptions = {}): Promise<RawClient> {
    const client = await RawClient.connect(port, options);
    this.defer(() => client.destroy());
    return client;
  }

  /** Releases everything, newest first; keeps going if one step fails, then reports it. */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    while (this.cleanups.length > 0) {
      const fn = this.cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'test harness cleanup failed');
  }
}

/** Writes `files` under `root`, creating folders; a string is written as UTF-8. */
export async function writeFiles(root: string, files: LibraryFiles): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, ...rel.split('/'));
    await fsp.mkdir(path.dirname(abs), { recursive: true });
    await fsp.writeFile(abs, content);
  }
}

/** `n` random bytes (fresh each call). */
export function randomContent(n: number): Buffer {
  return randomBytes(n);
}

/** SHA-256 of a buffer, as lowercase hex. */
export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** SHA-256 of a file, read as a stream (never whole into memory), as lowercase hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** Resolves after `ms` milliseconds (to space out pieces of a request, never to assert speed). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
