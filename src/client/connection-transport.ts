import net from 'node:net';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import { ReadBufferPool } from './read-buffer-pool.js';
import { AudioStreamError, V2_HELLO_REPLY } from '../protocol/index.js';

export interface TransportOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** A reply that stops arriving for this long (while we are reading) is abandoned. */
  idleTimeoutMs: number;
  /** Bytes of file body buffered between the socket and a slow consumer. */
  bodyHighWaterMark: number;
  /** Connect with TLS; `verify` decides whether to trust the server before a byte is sent. */
  tls?: TransportTls;
}

export interface TransportTls {
  connectOptions: tls.ConnectionOptions;
  verify(socket: tls.TLSSocket): Promise<void>;
}

/** What the reply in progress does with the bytes, the end and the silence of the socket. */
export interface ReplyHandler {
  onData(chunk: Buffer): void;
  onClose(err: AudioStreamError): void;
  onTimeout(): void;
}

/**
 * The answer to a `HELLO AS/2` that came after the client had given up waiting and gone on
 * in v1: the server speaks v2 after all, but this connection is no longer in step (a v2
 * server took the v1 request that followed for the old fallback probe). The client
 * remembers v2 and starts afresh; the error never reaches a user.
 */
export class LateHelloReply extends AudioStreamError {
  constructor() {
    super('PROTOCOL_ERROR', 'the server answered HELLO late: it speaks v2; reconnecting');
  }
}

/** The first bytes of a v2 server's answer to HELLO, as they appear on the wire. */
const HELLO_REPLY_PREFIX = Buffer.from(V2_HELLO_REPLY, 'latin1');

/** A HELLO this connection sent and the server has not answered (yet). */
interface UnansweredHello {
  /** Bytes held back while they could still be the start of `AS/2 OK`. */
  held: Buffer;
  /** The server's first reply is not an answer to HELLO: it ignored HELLO, so it speaks only v1. */
  onV1(): void;
  /** It was the answer, late. */
  onV2(): void;
}

/**
 * One TCP connection to a server, as the sessions above it use it: requests go one at a
 * time, each in one write, and the socket's bytes are routed to the handler of the reply in
 * progress until that reply is complete. A failed or cancelled reply destroys the socket
 * (the only sure way to stay in step with v1); the next request opens a new one.
 */
export class ConnectionTransport {
  readonly options: TransportOptions;
  socket: net.Socket | undefined;
  private handler: ReplyHandler | undefined;
  /** Bytes of the reply in progress received so far (0: the server has said nothing yet). */
  replyBytes = 0;
  /** How long the last connect took: the measure of this server's round trip. */
  connectMs = 0;
  /** Stops the reply in progress from listening to its abort signal (set while one is). */
  private stopCancelling: (() => void) | undefined;
  private unansweredHello: UnansweredHello | undefined;
  /** Socket reads go into these buffers; file bodies give them back once written. */
  private readonly readBuffers = new ReadBufferPool();
  readonly releaseChunk = (chunk: Buffer): void => this.readBuffers.release(chunk);

  constructor(options: TransportOptions) {
    this.options = options;
  }

  get target(): string {
    const { host, port } = this.options;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** Opens a new socket (the old one, if any, must be closed) and measures the connect time. */
  async open(): Promise<net.Socket> {
    const { host, port, connectTimeoutMs } = this.options;
    const started = performance.now();
    const secure = this.options.tls;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const onread = {
        buffer: () => this.readBuffers.take(),
        callback: (length: number, buffer: Uint8Array) => {
          this.onData(s, this.readBuffers.read(buffer as Buffer, length));
          return true; // pausing is explicit (socket.pause), never implied here
        },
      };
      const s: net.Socket = secure
        ? // onread works for tls.connect too (Node's docs list it); @types/node omits it.
          tls.connect({ host, port, ...secure.connectOptions, ...({ onread } as tls.ConnectionOptions) })
        : net.connect({ host, port, noDelay: true, onread });
      // With TLS, 'connect' (TCP) comes before 'secureConnect': between them a failure is TLS's.
      let tcpUp = false;
      s.once('connect', () => (tcpUp = true));
      const timer = setTimeout(() => {
        s.destroy();
        reject(
          new AudioStreamError(
            'CONNECTION_FAILED',
            secure && tcpUp
              ? `no TLS handshake from ${this.target} within ${connectTimeoutMs / 1000} s: it does not speak TLS on this port (leave out --tls?)`
              : `cannot connect to ${this.target}: no answer within ${connectTimeoutMs / 1000} s`,
          ),
        );
      }, connectTimeoutMs);
      s.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        if (!secure) return resolve(s);
        s.setNoDelay(true);
        // Nothing is sent before the certificate is judged.
        secure.verify(s as tls.TLSSocket).then(
          () => resolve(s),
          (err: unknown) => {
            s.destroy();
            reject(err);
          },
        );
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(secure && tcpUp ? this.tlsError(err) : this.connectError(err));
      });
    });
    this.connectMs = performance.now() - started;
    socket.on('error', () => {}); // 'close' follows and carries the news
    socket.on('close', (hadError) => this.onClose(socket, hadError));
    socket.on('timeout', () => {
      // Paused means we are waiting on a slow consumer, not on the server.
      if (this.socket === socket && !socket.isPaused()) this.handler?.onTimeout();
    });
    this.socket = socket;
    this.unansweredHello = undefined;
    return socket;
  }

  /**
   * This connection sent `HELLO AS/2` and went on in v1 without an answer. The first bytes
   * of the next reply tell which it was: `AS/2 OK` is the late answer (the request in
   * progress fails with {@link LateHelloReply}); anything else proves a v1-only server.
   */
  expectLateHello(onV1: () => void, onV2: () => void): void {
    this.unansweredHello = { held: Buffer.alloc(0), onV1, onV2 };
  }

  /**
   * Sends one request, in one write, and routes the socket's bytes to the handler that
   * `start` builds until the reply finishes (`finish`). Cancelling via `signal` closes the
   * connection.
   */
  request<T>(
    bytes: Buffer,
    signal: AbortSignal | undefined,
    start: (resolve: (value: T) => void, reject: (err: AudioStreamError) => void) => ReplyHandler,
  ): Promise<T> {
    const socket = this.socket!;
    if (this.handler) throw new Error('a request is already in progress on this connection');
    this.replyBytes = 0;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let abortable: ReplyHandler | undefined;
      const onAbort = (): void => this.close(new AudioStreamError('CANCELLED', 'cancelled'));
      const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
      const handler = start(
        (value) => {
          // No cleanup() here: a body may still be arriving, and Ctrl-C must still stop it
          // (it once did nothing until the whole file had come). finish() or close() clean up.
          settled = true;
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
      this.stopCancelling = cleanup;
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.write(bytes);
    });
  }

  /** The handler of the reply in progress, to tell later whether it still is. */
  get current(): ReplyHandler | undefined {
    return this.handler;
  }

  /** The reply in progress is complete: stop routing bytes to it. */
  finish(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.handler = undefined;
    this.stopCancelling?.();
    this.stopCancelling = undefined;
    socket.setTimeout(0);
    socket.resume();
  }

  /** Closes the connection; a request in progress fails with `reason`. */
  close(reason?: AudioStreamError): void {
    const { socket, handler } = this;
    this.socket = undefined;
    this.handler = undefined;
    this.unansweredHello = undefined;
    this.stopCancelling?.();
    this.stopCancelling = undefined;
    socket?.destroy();
    if (reason) handler?.onClose(reason);
  }

  /**
   * A body stream whose slow reader pauses the socket (bounded memory). A consumer that
   * destroys it before the reply has finished (a local write failed) abandons the reply:
   * the connection is closed, so that the next request starts afresh instead of finding
   * this one still in progress on a paused socket.
   */
  bodyStream(socket: net.Socket): Readable {
    const owner = this.handler;
    const body = new Readable({
      highWaterMark: this.options.bodyHighWaterMark,
      read: () => {
        if (this.socket === socket && socket.isPaused()) {
          socket.resume();
          socket.setTimeout(this.options.idleTimeoutMs);
        }
      },
      destroy: (err, callback) => {
        // Not after a body read to its end (auto-destroy): a v2 trailer may still be due.
        if (!body.readableEnded && this.socket === socket && owner !== undefined && this.handler === owner) {
          this.close(new AudioStreamError('CANCELLED', 'the transfer was abandoned'));
        }
        callback(err);
      },
    });
    return keepErrorForReader(body);
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    if (this.socket !== socket) return;
    this.replyBytes += chunk.length;
    const hello = this.unansweredHello;
    if (hello) {
      const seen = Buffer.concat([hello.held, chunk]);
      const n = Math.min(seen.length, HELLO_REPLY_PREFIX.length);
      if (seen.subarray(0, n).equals(HELLO_REPLY_PREFIX.subarray(0, n))) {
        if (n < HELLO_REPLY_PREFIX.length) {
          hello.held = seen; // could still be either: wait for more
          return;
        }
        this.unansweredHello = undefined;
        hello.onV2();
        this.close(new LateHelloReply());
        return;
      }
      // Replies come in order, so a reply that is not the answer to HELLO means there is none.
      this.unansweredHello = undefined;
      hello.onV1();
      chunk = seen;
    }
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

  private tlsError(err: NodeJS.ErrnoException): AudioStreamError {
    const plain = err.code === 'ECONNRESET' || /disconnected before secure TLS|wrong version number|packet length too long/i.test(err.message);
    return new AudioStreamError(
      'TLS_FAILED',
      plain
        ? `TLS with ${this.target} failed: the server does not speak TLS on this port (started without --tls-cert? then leave out --tls)`
        : `TLS with ${this.target} failed: ${err.code ?? err.message}`,
      { cause: err },
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

/**
 * The connection can fail before the consumer starts reading (the server closes right
 * after a short body while the consumer is still opening its file). An 'error' with no
 * listener would crash the process; the error stays stored on the stream, and reading it
 * (for await, pipeline) still throws it.
 */
function keepErrorForReader(body: Readable): Readable {
  body.on('error', () => {});
  return body;
}
