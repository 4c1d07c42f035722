import net from 'node:net';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import { ReadBufferPool } from './read-buffer-pool.js';
import {
  AudioStreamError,
  DEFAULT_MAX_LIST_ENTRIES,
  DEFAULT_MAX_LIST_LINE,
  ListParser,
  ReplyReader,
  StreamReplyParser,
  V2_HELLO,
  V2_HELLO_REPLY,
  V2_PROBE,
  encodeListRequest,
  encodeStreamRequest,
  encodeV2Line,
  formatV2Request,
  isAudioStreamError,
  parseGetHeader,
  parseGetTrailer,
  parseV2Entry,
  parseV2Status,
  type ErrorCode,
  type ListEntry,
  type V2Entry,
  type V2Request,
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
  /**
   * The most bytes one listing may take. The line and entry limits alone still let a
   * server send 1,000,000 lines of 8 KB, which the client would hold until the heap ran
   * out (it crashed). 512 MiB leaves room for a million files with all their tags.
   */
  maxListBytes?: number;
  /** Connect with TLS; `verify` decides whether to trust the server before a byte is sent. */
  tls?: { connectOptions: tls.ConnectionOptions; verify(socket: tls.TLSSocket): Promise<void> };
  /** Log in after HELLO (v2 only): gets a way to send a line and read the one-line answer. */
  login?: (exchange: (line: string) => Promise<string>) => Promise<void>;
}

/** A file on the server as a listing showed it: v1 knows only index and path, v2 much more. */
export type RemoteEntry = { index: number; path: string } & Partial<Omit<V2Entry, 'path'>>;

export interface ListResult {
  /** Sorted by index, from 0. */
  entries: RemoteEntry[];
  /** Set when the list was taken as empty because the server sent nothing (v1 only). */
  assumedEmpty: boolean;
}

export interface IncomingFile {
  /** The whole file's size. */
  size: number;
  /** Where the body starts in the file (0 unless a v2 range was asked for). */
  offset: number;
  /** How many body bytes follow. */
  length: number;
  /** Exactly `length` bytes, then end; or an error if the connection fails first. */
  body: Readable;
  /**
   * v2 only: after the body, the server's SHA-256 of the whole file, or an error
   * (FILE_CHANGED, or the connection lost before the trailer).
   */
  trailer?: Promise<string>;
  /**
   * Hands a body chunk back for reuse as a socket read buffer, once the consumer is done
   * with it and holds no reference (its bytes are on disk). Optional for consumers: a
   * chunk never released is left to the garbage collector.
   */
  release(chunk: Buffer): void;
}

/** How v2 `ERR` codes surface as client errors. */
const V2_ERROR_CODES: Record<string, ErrorCode> = {
  NOT_FOUND: 'NOT_FOUND',
  AUTH_REQUIRED: 'AUTH_REQUIRED',
  UNREADABLE: 'UNREADABLE',
  BAD_RANGE: 'BAD_RANGE',
  FILE_CHANGED: 'FILE_CHANGED',
};

function serverError(code: string, message: string): AudioStreamError {
  return new AudioStreamError(V2_ERROR_CODES[code] ?? 'SERVER_ERROR', message ? `the server says: ${message}` : `the server answered ${code}`);
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
  /** The protocol spoken on the current connection, once negotiated. */
  version: 1 | 2 | undefined;
  /** A v1 server's answer to the negotiation probe: the listing, kept for the next list(). */
  private probeList: ListResult | undefined;
  /** Bytes of the reply in progress received so far (0: the server has said nothing yet). */
  private replyBytes = 0;
  /** Stops the reply in progress from listening to its abort signal (set while one is). */
  private stopCancelling: (() => void) | undefined;
  /** Socket reads go into these buffers; file bodies give them back once written. */
  private readonly readBuffers = new ReadBufferPool();
  private readonly releaseChunk = (chunk: Buffer): void => this.readBuffers.release(chunk);

  constructor(options: ClientConnectionOptions) {
    this.options = {
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      emptyListTimeoutMs: 3_000,
      bodyHighWaterMark: 1024 * 1024,
      maxListBytes: 512 * 1024 * 1024,
      tls: undefined,
      login: undefined,
      ...options,
    } as Required<ClientConnectionOptions>;
  }

  get target(): string {
    const { host, port } = this.options;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /**
   * Connects if not connected (again, after a failure or a server restart) and
   * negotiates the protocol version.
   */
  async connect(signal?: AbortSignal): Promise<void> {
    if (this.connected) return;
    const socket = await this.openSocket();
    this.socket = socket;
    this.version = undefined;
    this.probeList = undefined;
    await this.negotiate(socket, signal);
    if (this.options.login) await this.logIn(socket, this.options.login, signal);
  }

  /** Runs the login step on a fresh v2 connection; any failure closes it. */
  private async logIn(socket: net.Socket, login: NonNullable<ClientConnectionOptions['login']>, signal: AbortSignal | undefined): Promise<void> {
    try {
      if (this.version !== 2) throw new AudioStreamError('NEEDS_V2', `${this.target} speaks only protocol v1, which has no login: not connecting with -u`);
      await login((line) => this.exchangeLine(socket, line, signal));
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Sends one line and resolves with the server's one-line answer (at most 4 KiB). */
  private exchangeLine(socket: net.Socket, line: string, signal: AbortSignal | undefined): Promise<string> {
    let got = Buffer.alloc(0);
    return this.request<string>(socket, encodeV2Line(line), signal, (resolve, reject) => {
      socket.setTimeout(this.options.idleTimeoutMs);
      return {
        onData: (chunk) => {
          got = Buffer.concat([got, chunk]);
          const lf = got.indexOf(0x0a);
          if (lf === -1) {
            if (got.length > 4096) reject(new AudioStreamError('PROTOCOL_ERROR', 'the server sent a login line longer than 4 KiB'));
            return;
          }
          if (lf + 1 !== got.length) {
            reject(new AudioStreamError('PROTOCOL_ERROR', 'the server sent bytes after its login reply'));
            return;
          }
          this.finish(socket);
          resolve(got.toString('utf8', 0, lf).replace(/\r$/, ''));
        },
        onClose: reject,
        onTimeout: () => this.close(new AudioStreamError('TIMEOUT', `the server sent nothing for ${this.options.idleTimeoutMs / 1000} s`)),
      };
    });
  }

  private async openSocket(): Promise<net.Socket> {
    const { host, port, connectTimeoutMs } = this.options;
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
    socket.on('error', () => {}); // 'close' follows and carries the news
    socket.on('close', (hadError) => this.onClose(socket, hadError));
    socket.on('timeout', () => {
      // Paused means we are waiting on a slow consumer, not on the server.
      if (this.socket === socket && !socket.isPaused()) this.handler?.onTimeout();
    });
    return socket;
  }

  /**
   * Sends `HELLO AS/2` and the v1 probe `LIST` together. A v2 server answers the HELLO
   * (first byte "A") and skips the probe; a v1 server ignores HELLO and answers the LIST
   * (first byte a digit), which we keep as the listing. No timer decides between them;
   * only an empty v1 library, which answers nothing at all, is waited out.
   */
  private negotiate(socket: net.Socket, signal: AbortSignal | undefined): Promise<void> {
    const listing = this.v1ListCollector();
    let decided: 1 | 2 | undefined;
    let helloLine = Buffer.alloc(0);
    const hello = Buffer.concat([encodeV2Line(V2_HELLO), encodeV2Line(V2_PROBE)]);
    return this.request<void>(socket, hello, signal, (resolve, reject) => {
      socket.setTimeout(this.options.emptyListTimeoutMs);
      const asV1 = (chunk: Buffer): void => {
        try {
          if (!listing.feed(chunk)) return;
        } catch (err) {
          reject(err as AudioStreamError);
          return;
        }
        this.version = 1;
        this.probeList = { entries: listing.entries(), assumedEmpty: false };
        this.finish(socket);
        resolve();
      };
      return {
        onData: (chunk) => {
          if (decided === undefined) {
            decided = chunk[0] === V2_HELLO_REPLY.charCodeAt(0) ? 2 : 1;
            socket.setTimeout(this.options.idleTimeoutMs);
          }
          if (decided === 1) {
            asV1(chunk);
            return;
          }
          helloLine = Buffer.concat([helloLine, chunk]);
          const lf = helloLine.indexOf(0x0a);
          if (lf === -1) {
            if (helloLine.length > 1024) reject(new AudioStreamError('PROTOCOL_ERROR', 'the server does not speak this protocol'));
            return;
          }
          const line = helloLine.toString('utf8', 0, lf).replace(/\r$/, '');
          if (!line.startsWith(V2_HELLO_REPLY) || lf + 1 !== helloLine.length) {
            reject(new AudioStreamError('PROTOCOL_ERROR', `the server does not speak this protocol (it said ${JSON.stringify(line.slice(0, 40))})`));
            return;
          }
          this.version = 2;
          this.finish(socket);
          resolve();
        },
        onClose: reject,
        onTimeout: () => {
          if (decided === undefined) {
            // Nothing at all: a v1 server with an empty library (v1 cannot say "empty").
            this.version = 1;
            this.probeList = { entries: [], assumedEmpty: true };
            this.finish(socket);
            resolve();
          } else {
            reject(new AudioStreamError('TIMEOUT', `the server stopped answering for ${this.options.idleTimeoutMs / 1000} s`));
          }
        },
      };
    });
  }

  /**
   * Runs `op` on the connection; if a connection that was already open turns out to be
   * dead before the server said anything (it restarted while we were idle), connects
   * again and runs it once more.
   */
  private async retryOnStale<T>(signal: AbortSignal | undefined, op: () => Promise<T>): Promise<T> {
    const reused = this.connected;
    await this.connect(signal);
    try {
      return await op();
    } catch (err) {
      if (!reused || this.replyBytes > 0 || !isAudioStreamError(err, 'CONNECTION_CLOSED')) throw err;
      await this.connect(signal);
      return op();
    }
  }

  /** Closes the connection; a request in progress fails with `reason`. */
  close(reason?: AudioStreamError): void {
    const { socket, handler } = this;
    this.socket = undefined;
    this.handler = undefined;
    this.stopCancelling?.();
    this.stopCancelling = undefined;
    socket?.destroy();
    if (reason) handler?.onClose(reason);
  }

  /** The server's listing, sorted by index: LIST2 over v2, LIST over v1. */
  async list(signal?: AbortSignal): Promise<ListResult> {
    return this.retryOnStale(signal, () => {
      if (this.version === 2) return this.list2(signal);
      const probed = this.probeList;
      this.probeList = undefined;
      return probed ? Promise.resolve(probed) : this.list1(signal);
    });
  }

  private list1(signal?: AbortSignal): Promise<ListResult> {
    const socket = this.socket!;
    const listing = this.v1ListCollector();
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
            if (!listing.feed(chunk)) return;
          } catch (err) {
            reject(err as AudioStreamError);
            return;
          }
          this.finish(socket);
          resolve({ entries: listing.entries(), assumedEmpty: false });
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

  private list2(signal?: AbortSignal): Promise<ListResult> {
    const socket = this.socket!;
    const entries: RemoteEntry[] = [];
    let expected: number | undefined;
    let listBytes = 0;
    return this.v2Request<ListResult>(socket, { kind: 'list2' }, signal, (resolve, reject) => ({
      line: (text) => {
        listBytes = this.checkListBytes(listBytes + text.length + 2); // characters held, plus CR LF
        if (expected === undefined) {
          const status = parseV2Status(text);
          if (!status.ok) {
            this.finish(socket); // an ERR reply ends the reply; the connection stays in step
            reject(serverError(status.code, status.message));
            return 0;
          }
          // Decimal digits only: Number() would take "", "1e3" or " 7" as a count.
          if (!/^(0|[1-9][0-9]{0,15})$/.test(status.rest)) {
            reject(new AudioStreamError('PROTOCOL_ERROR', `malformed LIST2 reply: the count is not a number: ${JSON.stringify(status.rest.slice(0, 40))}`));
            return 0;
          }
          expected = Number(status.rest);
          if (!Number.isSafeInteger(expected) || expected < 0 || expected > DEFAULT_MAX_LIST_ENTRIES) {
            reject(new AudioStreamError('LIST_TOO_LONG', `the server announced ${status.rest} files`));
            return 0;
          }
        } else {
          entries.push({ index: entries.length, ...parseV2Entry(text) });
        }
        if (entries.length === expected) {
          this.finish(socket);
          resolve({ entries, assumedEmpty: false });
        }
        return 0;
      },
      body: () => {},
    }));
  }

  /** The running size of a listing, or LIST_TOO_LONG once it passes `maxListBytes`. */
  /**
   * Gathers a v1 LIST reply: `feed` returns true once index 0 has arrived, and throws on a
   * malformed or oversized list, or on bytes after its end. `entries` are by index, from 0.
   */
  private v1ListCollector(): { feed(chunk: Buffer): boolean; entries(): ListEntry[] } {
    const parser = new ListParser();
    const entries: ListEntry[] = [];
    let bytes = 0;
    return {
      feed: (chunk) => {
        bytes = this.checkListBytes(bytes + chunk.length);
        for (const entry of parser.feed(chunk)) entries.push(entry);
        if (!parser.done) return false;
        if (parser.takeRest().length > 0) throw new AudioStreamError('MALFORMED_LIST', 'the server sent bytes after the end of the list');
        return true;
      },
      entries: () => [...entries].reverse(),
    };
  }

  private checkListBytes(total: number): number {
    if (total > this.options.maxListBytes) {
      throw new AudioStreamError('LIST_TOO_LONG', `the server sent more than ${formatMiB(this.options.maxListBytes)} of listing`);
    }
    return total;
  }

  /** INFO (v2 only): everything the server knows about one file, hash included. */
  async info(path: string, signal?: AbortSignal): Promise<V2Entry> {
    return this.retryOnStale(signal, () => {
      if (this.version !== 2) return Promise.reject(new AudioStreamError('NEEDS_V2', 'this server speaks only protocol v1, which has no file details'));
      const socket = this.socket!;
      return this.v2Request<V2Entry>(socket, { kind: 'info', path }, signal, (resolve, reject) => ({
        line: (text) => {
          const status = parseV2Status(text);
          this.finish(socket);
          if (!status.ok) reject(serverError(status.code, status.message));
          else resolve(parseV2Entry(status.rest));
          return 0;
        },
        body: () => {},
      }));
    });
  }

  /**
   * The bytes of a listed file: GET by path over v2 (from `offset`, with the hash in the
   * trailer), STREAM by index over v1 (whole files only).
   */
  async fetch(entry: Pick<RemoteEntry, 'index' | 'path'>, offset = 0, signal?: AbortSignal): Promise<IncomingFile> {
    return this.retryOnStale(signal, () => {
      if (this.version === 2) return this.get(entry.path, offset, signal);
      if (offset !== 0) return Promise.reject(new AudioStreamError('NEEDS_V2', 'this server speaks only protocol v1, which cannot resume'));
      return this.streamNow(entry.index, signal);
    });
  }

  private get(path: string, offset: number, signal?: AbortSignal): Promise<IncomingFile> {
    const socket = this.socket!;
    let body: Readable | undefined;
    let header: { size: number; offset: number; length: number } | undefined;
    let received = 0;
    let state: 'status' | 'body' | 'trailer' = 'status';
    let settleTrailer: { resolve: (sha: string) => void; reject: (err: AudioStreamError) => void } | undefined;
    const trailer = new Promise<string>((resolve, reject) => (settleTrailer = { resolve, reject }));
    trailer.catch(() => {}); // awaited by the consumer; never an unhandled rejection
    const bodyDone = (): void => {
      state = 'trailer';
      body!.push(null);
      if (socket.isPaused()) socket.resume(); // the trailer must still get through
    };
    return this.v2Request<IncomingFile>(socket, { kind: 'get', path, offset, length: undefined }, signal, (resolve, reject) => ({
      line: (text) => {
        if (state === 'status') {
          const status = parseV2Status(text);
          if (!status.ok) {
            this.finish(socket);
            reject(serverError(status.code, status.message));
            return 0;
          }
          header = parseGetHeader(status.rest);
          body = this.bodyStream(socket);
          resolve({ ...header, body, trailer, release: this.releaseChunk });
          state = 'body';
          if (header.length === 0) bodyDone();
          return header.length;
        }
        const t = parseGetTrailer(text);
        this.finish(socket);
        if ('sha256' in t) settleTrailer!.resolve(t.sha256);
        else settleTrailer!.reject(serverError(t.code, t.message));
        return 0;
      },
      body: (bytes) => {
        received += bytes.length;
        const more = received < header!.length;
        if (!body!.push(bytes) && more) socket.pause();
        if (!more) bodyDone();
      },
      closed: (err) => {
        const what =
          err.code === 'CONNECTION_CLOSED' && header
            ? new AudioStreamError('TRUNCATED_TRANSFER', `the server closed the connection after ${received} of ${header.length} bytes`)
            : err;
        settleTrailer!.reject(what);
        if (body && state === 'body') body.destroy(what);
        return !body;
      },
    }));
  }

  /**
   * A body stream whose slow reader pauses the socket (bounded memory). A consumer that
   * destroys it before the reply has finished (a local write failed) abandons the reply:
   * the connection is closed, so that the next request starts afresh instead of finding
   * this one still in progress on a paused socket.
   */
  private bodyStream(socket: net.Socket): Readable {
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

  /**
   * Sends one v2 request and feeds its reply through a ReplyReader. `closed` (optional)
   * hears a lost connection first; it returns true if the request promise should
   * still be rejected (nothing was delivered yet).
   */
  private v2Request<T>(
    socket: net.Socket,
    request: V2Request,
    signal: AbortSignal | undefined,
    start: (
      resolve: (value: T) => void,
      reject: (err: AudioStreamError) => void,
    ) => { line(text: string): number; body(bytes: Buffer): void; closed?: (err: AudioStreamError) => boolean },
  ): Promise<T> {
    return this.request<T>(socket, encodeV2Line(formatV2Request(request)), signal, (resolve, reject) => {
      socket.setTimeout(this.options.idleTimeoutMs);
      const handler = start(resolve, reject);
      // The reader goes on through the rest of a chunk after the reply has finished; those
      // bytes belong to no request (a LIST2 with more lines than its count once grew the
      // resolved listing). Refuse them: the catch below closes the connection.
      let owner: Handler | undefined;
      const reader = new ReplyReader(
        {
          line: (text) => {
            if (this.handler !== owner) throw new AudioStreamError('PROTOCOL_ERROR', 'the server sent bytes after the end of its reply');
            return handler.line(text);
          },
          body: (bytes) => handler.body(bytes),
        },
        DEFAULT_MAX_LIST_LINE,
      );
      return {
        onData: (chunk) => {
          owner = this.handler;
          try {
            reader.feed(chunk);
          } catch (err) {
            const error = isAudioStreamError(err) ? err : new AudioStreamError('PROTOCOL_ERROR', String(err));
            if (!handler.closed || handler.closed(error)) reject(error);
            this.close();
          }
        },
        onClose: (err) => {
          if (!handler.closed || handler.closed(err)) reject(err);
        },
        onTimeout: () => this.close(new AudioStreamError('TIMEOUT', `the server sent nothing for ${this.options.idleTimeoutMs / 1000} s`)),
      };
    });
  }

  /**
   * STREAM: resolves once the size has arrived, with a body stream. Reading the body
   * slowly pauses the socket, so memory stays bounded whatever the file size.
   */
  async stream(index: number, signal?: AbortSignal): Promise<IncomingFile> {
    return this.retryOnStale(signal, () => this.streamNow(index, signal));
  }

  private streamNow(index: number, signal?: AbortSignal): Promise<IncomingFile> {
    const socket = this.socket!;
    const parser = new StreamReplyParser();
    let body: Readable | undefined;
    const pending = this.request<IncomingFile>(socket, encodeStreamRequest(index), signal, (resolve, reject) => {
      socket.setTimeout(this.options.idleTimeoutMs);
      const deliver = (chunk: Buffer): void => {
        const { body: bytes, rest } = parser.feed(chunk);
        if (parser.size !== undefined && !body) {
          body = this.bodyStream(socket);
          resolve({ size: parser.size, offset: 0, length: parser.size, body, release: this.releaseChunk });
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
    this.replyBytes = 0;
    if (!bytes.equals(encodeListRequest())) this.probeList = undefined;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let abortable: Handler | undefined;
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

  /** The reply in progress is complete: stop routing bytes to it. */
  private finish(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.handler = undefined;
    this.stopCancelling?.();
    this.stopCancelling = undefined;
    socket.setTimeout(0);
    socket.resume();
  }

  private onData(socket: net.Socket, chunk: Buffer): void {
    if (this.socket !== socket) return;
    this.replyBytes += chunk.length;
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

  /** The TCP connection stood but TLS failed: most often a server without TLS on this port. */
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

function formatMiB(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${+(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${bytes} bytes`;
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
