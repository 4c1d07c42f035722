import net, { type AddressInfo } from 'node:net';
import type { Library } from '../library/index.js';
import { DEFAULT_MAX_REQUEST_LINE } from '../protocol/index.js';
import { ServerConnection } from './connection.js';
import { silentLogger, type Logger } from './log.js';

export interface AudioServerOptions {
  library: Library;
  log?: Logger;
  maxRequestLine?: number;
  readChunkSize?: number;
  maxQueuedRequests?: number;
  /** Pending connections the kernel may queue before accept (the original used 10). */
  backlog?: number;
}

export const DEFAULT_READ_CHUNK_SIZE = 256 * 1024;
export const DEFAULT_MAX_QUEUED_REQUESTS = 64;
export const DEFAULT_BACKLOG = 4096;

/** The TCP server: accepts connections and gives each a {@link ServerConnection}. */
export class AudioServer {
  private readonly server: net.Server;
  private readonly connections = new Set<ServerConnection>();
  private readonly options: Required<AudioServerOptions>;

  constructor(options: AudioServerOptions) {
    this.options = {
      log: silentLogger,
      maxRequestLine: DEFAULT_MAX_REQUEST_LINE,
      readChunkSize: DEFAULT_READ_CHUNK_SIZE,
      maxQueuedRequests: DEFAULT_MAX_QUEUED_REQUESTS,
      backlog: DEFAULT_BACKLOG,
      ...options,
    };
    // Half-open: a v1 client may send its requests and shut down its side at once
    // (`printf 'LIST\r\n' | nc`); it must still get every reply before we close.
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const connection = new ServerConnection(socket, this.options);
      this.connections.add(connection);
      socket.on('close', () => this.connections.delete(connection));
    });
  }

  /** Resolves with the bound address once the server accepts connections. */
  listen(port: number, host?: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ port, host, backlog: this.options.backlog }, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting, drops every connection, and resolves when all is closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const connection of this.connections) connection.destroy();
    });
  }
}
