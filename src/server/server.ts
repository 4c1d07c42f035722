import net, { type AddressInfo } from 'node:net';
import type { Library } from '../library/index.js';
import { DEFAULT_MAX_REQUEST_LINE } from '../protocol/index.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS, ServerConnection } from './connection.js';
import { silentLogger, type Logger } from './log.js';
import type { AccessPolicy, PlainTextPolicy } from './access-policy.js';
import { routeByFirstByte } from './tls-detect.js';
import type tls from 'node:tls';
import { LineBudget, RateLimitedLogger, SERVER_LOG_RATE } from './log-limiter.js';

export interface AudioServerOptions {
  library: Library;
  log?: Logger;
  maxRequestLine?: number;
  readChunkSize?: number;
  maxQueuedRequests?: number;
  /** Pending connections the kernel may queue before accept (the original used 10). */
  backlog?: number;
  /** Connections open at once; more are closed on arrival. */
  maxConnections?: number;
  /** Connections open at once from one address. */
  maxConnectionsPerAddress?: number;
  idleTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Accounts and policy; without it everyone is served, as before accounts existed. */
  access?: AccessPolicy;
  /** TLS on the same port (`--tls-cert`, `--tls-key`): a peer whose first byte is a TLS handshake gets TLS. */
  tls?: tls.SecureContext;
  /** `--require-tls`: what a connection that did not start TLS may do (access-policy.ts). */
  requireTls?: PlainTextPolicy;
}

/**
 * The largest read from a file per chunk (was 256 KiB). One 1 GiB STREAM on loopback, head
 * to head with the bench's baseline server: 256 KiB 0.70× its throughput at 290-300 ms of
 * server CPU per GiB, 512 KiB 0.94-0.98× at 230 ms (the baseline's 230 ms). 4 MiB matches
 * the baseline too, but a connection that stops reading holds one read buffer, so this
 * size times the connection cap is the worst case. docs/BENCHMARKS.md, scenario 1.
 */
export const DEFAULT_READ_CHUNK_SIZE = 512 * 1024;
export const DEFAULT_MAX_QUEUED_REQUESTS = 64;
export const DEFAULT_BACKLOG = 4096;
export const DEFAULT_MAX_CONNECTIONS = 20_000;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 2_000;


/** The TCP server: accepts connections and gives each a {@link ServerConnection}. */
export class AudioServer {
  private readonly server: net.Server;
  private readonly connections = new Set<ServerConnection>();
  private readonly perAddress = new Map<string, number>();
  private refusedSinceLog = 0;
  /** Refused connections are logged at most once a second, with how many since the last line. */
  private readonly refusalLogBudget = new LineBudget({ perSecond: 1, burst: 1 });
  /** Every connection logs through this: SERVER_LOG_RATE lines in all, however many connect. */
  private readonly log: RateLimitedLogger;
  private readonly options: Required<Omit<AudioServerOptions, 'access' | 'tls' | 'requireTls'>> & Pick<AudioServerOptions, 'access' | 'tls' | 'requireTls'>;
  /** Accepted sockets whose first bytes have not arrived yet (plain or TLS is not known). */
  private readonly routing = new Set<net.Socket>();

  constructor(options: AudioServerOptions) {
    this.options = {
      log: silentLogger,
      maxRequestLine: DEFAULT_MAX_REQUEST_LINE,
      readChunkSize: DEFAULT_READ_CHUNK_SIZE,
      maxQueuedRequests: DEFAULT_MAX_QUEUED_REQUESTS,
      backlog: DEFAULT_BACKLOG,
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
      idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
      ...options,
    };
    this.log = new RateLimitedLogger(this.options.log, SERVER_LOG_RATE);
    // Half-open: a v1 client may send its requests and shut down its side at once
    // (`printf 'LIST\r\n' | nc`); it must still get every reply before we close.
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    // Accept failures (EMFILE when out of descriptors) must not take the server down:
    // libuv keeps listening, and new connections are taken again once descriptors free up.
    this.server.on('error', (err: NodeJS.ErrnoException) => {
      if (this.server.listening) this.log.warn(`accept failed: ${err.code ?? err.message}`);
    });
  }

  private accept(socket: net.Socket): void {
    const address = socket.remoteAddress ?? '?';
    const fromAddress = this.perAddress.get(address) ?? 0;
    // A socket still waiting for its first byte (routing: TLS or plain?) holds a descriptor
    // and a slot like any other: a flood of silent connections must meet the same cap.
    if (this.connectionCount >= this.options.maxConnections || fromAddress >= this.options.maxConnectionsPerAddress) {
      // v1 cannot say "busy": closing at once is the only answer. Logged at most once a second.
      socket.on('error', () => {});
      socket.destroy();
      this.refusedSinceLog++;
      if (this.refusalLogBudget.take()) {
        this.log.warn(`refused ${this.refusedSinceLog} connection(s): limit of ${this.options.maxConnections} in all or ${this.options.maxConnectionsPerAddress} per address reached`);
        this.refusedSinceLog = 0;
      }
      return;
    }
    this.perAddress.set(address, fromAddress + 1);
    this.routing.add(socket);
    const route = { tls: this.options.tls, firstByteTimeoutMs: this.options.idleTimeoutMs, handshakeTimeoutMs: this.options.requestTimeoutMs, log: this.log };
    routeByFirstByte(socket, route, (routed) => {
      this.routing.delete(socket);
      // The policy applies to plain-text connections only: a TLS one is handed over as a TLSSocket.
      const plain = routed === socket && this.options.requireTls ? { plainText: this.options.requireTls } : {};
      const connection = new ServerConnection(routed, { ...this.options, log: this.log, ...plain });
      this.connections.add(connection);
      socket.once('close', () => this.connections.delete(connection));
    });
    socket.on('close', () => {
      this.routing.delete(socket);
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n === 0) this.perAddress.delete(address);
      else this.perAddress.set(address, n);
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

  /** Open connections, counting those not yet routed (no byte received so far). */
  get connectionCount(): number {
    return this.connections.size + this.routing.size;
  }

  /** Stops accepting, drops every connection, and resolves when all is closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const connection of this.connections) connection.destroy();
      for (const socket of this.routing) socket.destroy();
    });
  }
}
