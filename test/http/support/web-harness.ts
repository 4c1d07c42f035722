/**
 * Test harness for the web interface: a real library in a temporary directory (the sample
 * library's real audio, or files a test writes), a real SQLite database file, a WebServer on
 * 127.0.0.1 port 0, and a plain HTTP client that returns the whole exchange.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Library, openLibraryDatabase, type ServerDatabase } from '../../../src/library/index.js';
import { WebServer, type WebAuthenticator, type WebServerOptions } from '../../../src/http/index.js';
import { SAMPLE_LIBRARY } from '../../client/support/paths.js';

export const TEST_HOST = '127.0.0.1';

export interface Exchange {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A test double for the accounts module (which is not wired in yet): one fixed account,
 * `listener` / `correct horse`, role `user`.
 */
export class TestAuthenticatorWithFixedAccount implements WebAuthenticator {
  static readonly NAME = 'listener';
  static readonly PASSWORD = 'correct horse';
  async verify(name: string, password: string) {
    return name === TestAuthenticatorWithFixedAccount.NAME && password === TestAuthenticatorWithFixedAccount.PASSWORD ? { name, role: 'user' } : undefined;
  }
  async hasAccounts() {
    return true;
  }
}

export class WebHarness {
  private readonly dirs: string[] = [];
  private readonly servers: WebServer[] = [];
  private readonly libraries: Library[] = [];
  private readonly databases: ServerDatabase[] = [];

  async tempDir(prefix = 'as-web-'): Promise<string> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** A copy of the sample library (real audio with tags) in a fresh directory. */
  async sampleLibrary(): Promise<string> {
    const root = path.join(await this.tempDir(), 'library');
    // dereference: a sample library reached through a link is copied, never written through.
    await fsp.cp(SAMPLE_LIBRARY, root, { recursive: true, dereference: true });
    return root;
  }

  /** Opens `root` as a library with a real database file, tags read before it returns. */
  async openLibrary(root: string): Promise<Library> {
    const database = openLibraryDatabase(path.join(await this.tempDir('as-web-data-'), 'data'));
    this.databases.push(database);
    const library = await Library.open(root, { rescanIntervalMs: 0, watchDebounceMs: 0, database });
    this.libraries.push(library);
    await library.tagsSettled();
    library.store.flushTags();
    return library;
  }

  /** Closes `database` at cleanup (an account store's, say). */
  adopt(database: ServerDatabase): ServerDatabase {
    this.databases.push(database);
    return database;
  }

  async start(library: Library, options: Partial<WebServerOptions> = {}): Promise<{ server: WebServer; port: number }> {
    const server = new WebServer({ library, ...options });
    this.servers.push(server);
    const { port } = await server.listen(0, TEST_HOST);
    return { server, port };
  }

  async cleanup(): Promise<void> {
    for (const s of this.servers.splice(0)) await s.close();
    for (const l of this.libraries.splice(0)) l.close();
    for (const d of this.databases.splice(0)) d.close();
    for (const d of this.dirs.splice(0)) await fsp.rm(d, { recursive: true, force: true });
  }
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  tls?: boolean;
}

/** One request on a fresh connection; resolves with the whole response. */
export function request(port: number, urlPath: string, options: RequestOptions = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const lib = options.tls ? https : http;
    const req = lib.request(
      { host: TEST_HOST, port, path: urlPath, method: options.method ?? 'GET', headers: { Host: `127.0.0.1:${port}`, ...options.headers }, agent: false, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${urlPath} within 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sends exactly `bytes` on a raw socket and returns everything the server sent until it closed (or 2 s passed). */
export function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, TEST_HOST);
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    const finish = (): void => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.on('close', finish);
    socket.setTimeout(2_000, () => {
      socket.destroy();
    });
    socket.write(bytes);
  });
}

export async function fileBytes(root: string, rel: string): Promise<Buffer> {
  return fsp.readFile(path.join(root, rel));
}
