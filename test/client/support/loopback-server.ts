import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before } from 'node:test';
import { ClientConnection } from '../../../src/client/index.js';
import { AudioServer } from '../../../src/server/index.js';
import { Library } from '../../../src/library/index.js';
import { makeTempDir, removeDir, writeRandomLibrary } from './files.js';

export interface RunningServer {
  port: number;
  server: AudioServer;
  close(): Promise<void>;
}

/**
 * A real AudioServer over `dir` on 127.0.0.1 (port 0 picks a free one), with periodic
 * rescans off. Our own small stand-in until test/support/server-harness.ts lands.
 */
export async function startServer(dir: string, port = 0): Promise<RunningServer> {
  const library = await Library.open(dir, { rescanIntervalMs: 0 });
  const server = new AudioServer({ library });
  const address = await server.listen(port, '127.0.0.1');
  return {
    port: address.port,
    server,
    async close() {
      await server.close();
      library.close();
    },
  };
}

/** A port that was free a moment ago (nothing listens on it now): for "connection refused". */
export async function unusedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Asks the server for its list (through the client's own connection): path → index. */
export async function indexesByPath(port: number): Promise<Map<string, number>> {
  const connection = new ClientConnection({ host: '127.0.0.1', port });
  try {
    const { entries } = await connection.list();
    return new Map(entries.map((e) => [e.path, e.index]));
  } finally {
    connection.close();
  }
}

/** A real AudioServer over a temporary library of random files, for one describe block. */
export interface RandomLibraryFixture {
  /** A temporary directory for the test's own files (removed afterwards). */
  readonly work: string;
  /** The served library, inside `work`. */
  readonly serverDir: string;
  readonly server: RunningServer;
  /** Path → index, as the server lists them. */
  readonly indexes: Map<string, number>;
  /** The index of a served path (fails the test if it is not listed). */
  indexOf(remotePath: string): number;
  /** Where a served path lies on disk. */
  original(remotePath: string): string;
}

/**
 * Registers before/after hooks (call it inside a describe) that write `files` (path →
 * size in bytes of random content), start a server over them and list it; everything is
 * removed afterwards.
 */
export function randomLibraryServer(name: string, files: Record<string, number>): RandomLibraryFixture {
  const state: { work?: string; serverDir?: string; server?: RunningServer; indexes?: Map<string, number> } = {};
  before(async () => {
    state.work = await makeTempDir(name);
    state.serverDir = path.join(state.work, 'server');
    await writeRandomLibrary(state.serverDir, files);
    state.server = await startServer(state.serverDir);
    state.indexes = await indexesByPath(state.server.port);
  });
  after(async () => {
    await state.server?.close();
    if (state.work) await removeDir(state.work);
  });
  return {
    get work() {
      return state.work!;
    },
    get serverDir() {
      return state.serverDir!;
    },
    get server() {
      return state.server!;
    },
    get indexes() {
      return state.indexes!;
    },
    indexOf(remotePath) {
      const i = state.indexes!.get(remotePath);
      assert.notEqual(i, undefined, `the server lists ${remotePath}`);
      return i!;
    },
    original: (remotePath) => path.join(state.serverDir!, remotePath),
  };
}
