import net from 'node:net';
import { Readable } from 'node:stream';
import {
  AudioStreamError,
  ListParser,
  StreamReplyParser,
  encodeListRequest,
  encodeStreamRequest,
  type ListEntry,
} from '../protocol/index.js';

export interface ClientConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs?: number;
  /** A reply that stops arriving for this long (while we are reading) is abandoned. */
  idleTimeoutMs?: number;
  /**
   * v1 cannot say "empty library": a server with no files answers LIST with nothing at all.
   * After this long with no byte of a LIST reply, the list is taken as empty.
   */
  emptyListTimeoutMs?: number;
  /** Bytes of file body buffered between the socket and a slow consumer. */
  bodyHighWaterMark?: number;
}

export interface ListResult {
  entries: ListEntry[];
  /** Set when the list was taken as empty because the server sent nothing. */
  assumedEmpty: boolean;
}

export interface IncomingFile {
  /** The size the server announced. */
  size: number;
  /** Exactly `size` bytes, then end; or an error if the connection fails first. */
  body: Readable;
}

type Handler = {
  onData(chunk: Buffer): void;
  onClose(err: AudioStreamError): void;
  onTimeout(): void;
};

/**
 * The client's side of one TCP connection to a server. Requests go one at a time; bytes
 * from the socket are routed to the parser of the reply in progress. A failed or
 * cancelled reply destroys the socket (the only sure way to stay in sync with v1), and
 * the next request connects again.
 */
export class ClientConnection {
  private readonly options: Required<ClientConnectionOptions>;
  private socket: net.Socket | undefined;
  private handler: Handler | undefined;

  constructor(options: ClientConnectionOptions) {
    this.options = {
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      emptyListTimeoutMs: 3_000,
      bodyHighWaterMark: 1024 * 1024,
      ...options,
    };
  }

  get target(): string {
    const { host, port } = this.options;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** Connects if not connected (again, after a failure or a server restart). */
  async connect(): Promise<void> {
    if (this.connected) return;
    const { host, port, connectTimeoutMs } = this.options;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new AudioStreamError('CONNECTION_FAILED', `cannot connect to ${this.target}: no answer within ${connectTimeoutMs / 1000} s`));
      }, connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(this.connectError(err));
      });
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', () => {}); // 'close' follows and carries the news
    socket.on('close', (hadError) => this.onClose(socket, hadError));
    socket.on('timeout', () => {
      // Paused means we are waiting on a slow consumer, not on the server.
      if (this.socket === socket && !socket.isPaused()) this.handler?.onTimeout();
    });
    this.socket = socket;
  }

  /** Closes the connection; a request in progress fails with `reason`. */
  close(reason?: AudioStreamError): void {
    const { socket, handler } = this;
    this.socket = undefined;
    this.handler = undefined;
    socket?.destroy();
    if (reason) handler?.onClose(reason);
  }

  /** LIST: resolves with every entry, highest index first as sent. */
  async list(signal?: AbortSignal): Promise<ListResult> {
    await this.connect();
    const socket = this.socket!;
    const parser = new ListParser();
    const entries: ListEntry[] = [];
    let receivedAny = false;
    return this.request(socket, encodeListRequest(), signal, (resolve, reject) => {
      // Wait for the first byte only so long: an empty v1 library sends nothing at all.
      socket.setTimeout(this.options.emptyListTimeoutMs);
      return {
        onData: (chunk) => {
          if (!receivedAny) {
            receivedAny = true;
            socket.setTimeout(this.options.idleTimeoutMs);
          }
          try {
            for (const entry of parser.feed(chunk)) entries.push(entry);
          } catch (err) {
            reject(err as AudioStreamError);
            return;
          }
          if (parser.done) {
            if (parser.takeRest().length > 0) {
              reject(new AudioStreamError('MALFORMED_LIST', 'the server sent bytes after the end of the list'));
            } else {
              this.finish(socket);
              resolve({ entries, assumedEmpty: false });
            }
          }
        },
        onClose: reject,
        onTimeout: () => {
          if (!receivedAny) {
            // Nothing arrived: take it as empty, but reconnect before the next request in
            // case a late reply is still on its way.
            this.finish(socket);
            this.close();
            resolve({ entries: [], assumedEmpty: true });
          } else {
            reject(new AudioStreamError('TIMEOUT', `the server stopped sending the list for ${this.options.idleTimeoutMs / 1000} s`));
          }
        },
      };
    });
  }

  /**
   * STREAM: resolves once the size has arrived, with a body stream. Reading the body
   * slowly pauses the socket, so memory stays bounded whatever the file size.
   */
  async stream(index: number, signal?: AbortSignal): Promise<IncomingFile> {
    await this.connect();
    const socket = this.socket!;
    const parser = new StreamReplyParser();
    let body: Readable | undefined;
    const pending = this.request<IncomingFile>(socket, encodeStreamRequest(index), signal, (resolve, reject) => {
      socket.setTimeout(this.options.idleTimeoutMs);
      const deliver = (chunk: Buffer): void => {
        const { body: bytes, rest } = parser.feed(chunk);
        if (parser.size !== undefined && !body) {
          body = new Readable({
            highWaterMark: this.options.bodyHighWaterMark,
            read: () => {
              if (this.socket === socket && socket.isPaused()) {
                socket.resume();
                socket.setTimeout(this.options.idleTimeoutMs);
              }
            },
          });
          resolve({ size: parser.size, body });
        }
        // Pause only mid-body: after the last byte, _read may never be called again to resume.
        if (bytes && body && !body.push(bytes) && !parser.done) socket.pause();
        if (parser.done) {
          this.finish(socket);
          body!.push(null);
          if (rest) this.close(); // bytes nobody asked for: start afresh next time
        }
      };
      return {
        onData: deliver,
        onClose: (err) => {
          const what =
            err.code === 'CONNECTION_CLOSED' && parser.size !== undefined
              ? new AudioStreamError('TRUNCATED_TRANSFER', `the server closed the connection after ${parser.received} of ${parser.size} bytes`)
              : err;
          if (body) body.destroy(what);
          else reject(what);
        },
        onTimeout: () => {
          const err = new AudioStreamError('TIMEOUT', `the server sent nothing for ${this.options.idleTimeoutMs / 1000} s (${parser.received} of ${parser.size ?? '?'} bytes received)`);
          this.close(err);
        },
      };
    });
    return pending;
  }

  /**
   * Sends one request and routes the socket's bytes to the handler that `start` builds
   * until the reply finishes. Cancelling via `signal` closes the connection.
   */
  private request<T>(
    socket: net.Socket,
    bytes: Buffer,
    signal: AbortSignal | undefined,
    start: (resolve: (value: T) => void, reject: (err: AudioStreamError) => void) => Handler,
  ): Promise<T> {
    if (this.handler) throw new Error('a request is already in progress on this connection');
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let abortable: Handler | undefined;
      const onAbort = (): void => this.close(new AudioStreamError('CANCELLED', 'cancelled'));
      const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
      const handler = start(
        (value) => {
          settled = true;
          cleanup();
          resolve(value);
        },
        (err) => {
          if (!settled) {
            settled = true;
            cleanup();
            reject(err);
          }
          // A reply we could not parse leaves the stream out of sync: start afresh.
          if (this.handler === abortable) this.close();
        },
      );
      // After resolve the handler lives on (a stream body still arriving); cancellation
      // must still reach it.
      abortable = {
        ...handler,
        onClose: (err) => {
          cleanup();
          handler.onClose(err);
        },
      };
      this.handler = abortable;
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.write(bytes);
    });
  }

  /** The reply in progress is complete: stop routing bytes to it. */
  private finish(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.handler = undefined;
    socket.setTimeout(0);
    socket.resume();
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    if (this.socket !== socket) return;
    if (!this.handler) {
      // Bytes nobody asked for: the peer is not speaking the protocol we expect.
      this.close();
      return;
    }
    this.handler.onData(chunk);
  }

  private onClose(socket: net.Socket, hadError: boolean): void {
    if (this.socket !== socket) return;
    this.close(
      new AudioStreamError(
        'CONNECTION_CLOSED',
        hadError ? `the connection to ${this.target} failed` : `the server at ${this.target} closed the connection`,
      ),
    );
  }

  private connectError(err: NodeJS.ErrnoException): AudioStreamError {
    const where = this.target;
    switch (err.code) {
      case 'ECONNREFUSED':
        return new AudioStreamError('CONNECTION_REFUSED', `cannot connect to ${where}: connection refused. Is as-server running there? (pass -a HOST -p PORT to pick another)`, { cause: err });
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new AudioStreamError('CONNECTION_FAILED', `cannot connect to ${where}: unknown host "${this.options.host}"`, { cause: err });
      default:
        return new AudioStreamError('CONNECTION_FAILED', `cannot connect to ${where}: ${err.code ?? err.message}`, { cause: err });
    }
  }
}
