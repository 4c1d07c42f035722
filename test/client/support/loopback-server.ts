import net, { type AddressInfo } from 'node:net';
import { ClientConnection } from '../../../src/client/index.js';
import { AudioServer } from '../../../src/server/index.js';
import { Library } from '../../../src/library/index.js';

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
