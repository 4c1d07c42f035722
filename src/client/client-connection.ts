import type { Readable } from 'node:stream';
import { AudioStreamError, isAudioStreamError, type ListDialect, type V2Entry } from '../protocol/index.js';
import { ConnectionTransport, LateHelloReply, type TransportTls } from './connection-transport.js';
import { ServerVersions, negotiate, type ProtocolChoice } from './protocol-negotiation.js';
import { listV1, streamV1 } from './v1-session.js';
import { exchangeLoginLine, getV2, infoV2, listV2 } from './v2-session.js';

export interface ClientConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs?: number;
  /** A reply that stops arriving for this long (while we are reading) is abandoned. */
  idleTimeoutMs?: number;
  /**
   * v1 cannot say "empty library": a server with no files answers LIST with nothing at all.
   * After this long with no byte of a LIST reply, the client checks whether the library
   * is empty (see listV1); silence alone is never taken as empty.
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
  /** `auto` (default) finds out which protocol the server speaks; `v1` or `v2` says so. */
  protocol?: ProtocolChoice;
  /** What the session has learnt about servers' protocols (shared by reconnects). */
  versions?: ServerVersions;
  /** Connect with TLS; `verify` decides whether to trust the server before a byte is sent. */
  tls?: TransportTls;
  /** Log in after HELLO (v2 only): gets a way to send a line and read the one-line answer. */
  login?: (exchange: (line: string) => Promise<string>) => Promise<void>;
}

/** A file on the server as a listing showed it: v1 knows only index and path, v2 much more. */
export type RemoteEntry = { index: number; path: string } & Partial<Omit<V2Entry, 'path'>>;

export interface ListResult {
  /** Sorted by index, from 0. */
  entries: RemoteEntry[];
  /** v1 only: the server sent nothing and proved it has no file 0 (v1 cannot say "empty"). */
  assumedEmpty: boolean;
  /** v1 only: how the server wrote its LIST lines. */
  dialect?: ListDialect;
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

/**
 * The client's connection to one server, whichever protocol it speaks: connects (again,
 * after a failure or a server restart), settles the protocol (protocol-negotiation.ts), and
 * runs each request through the v1 or v2 session on one ConnectionTransport.
 */
export class ClientConnection {
  private readonly options: Required<Omit<ClientConnectionOptions, 'versions' | 'tls' | 'login'>> & Pick<ClientConnectionOptions, 'tls' | 'login'>;
  private readonly versions: ServerVersions;
  private readonly transport: ConnectionTransport;
  private negotiated: 1 | 2 | undefined;

  constructor(options: ClientConnectionOptions) {
    this.options = {
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      emptyListTimeoutMs: 1_000,
      bodyHighWaterMark: 1024 * 1024,
      maxListBytes: 512 * 1024 * 1024,
      protocol: 'auto',
      ...options,
    };
    this.versions = options.versions ?? new ServerVersions();
    const { host, port, connectTimeoutMs, idleTimeoutMs, bodyHighWaterMark, tls } = this.options;
    this.transport = new ConnectionTransport({ host, port, connectTimeoutMs, idleTimeoutMs, bodyHighWaterMark, tls });
  }

  get target(): string {
    return this.transport.target;
  }

  get connected(): boolean {
    return this.transport.connected;
  }

  /** The protocol spoken on the current connection, once negotiated. */
  get version(): 1 | 2 | undefined {
    return this.negotiated;
  }

  /**
   * Connects if not connected (again, after a failure or a server restart) and
   * negotiates the protocol version.
   */
  async connect(signal?: AbortSignal): Promise<void> {
    if (this.connected) return;
    this.negotiated = undefined;
    await this.transport.open();
    this.negotiated = await negotiate(this.transport, { choice: this.options.protocol, versions: this.versions, signal });
    const login = this.options.login;
    if (login) {
      try {
        if (this.negotiated !== 2) throw new AudioStreamError('NEEDS_V2', `${this.target} speaks only protocol v1, which has no login: not connecting with -u`);
        await login((line) => exchangeLoginLine(this.transport, line, signal));
      } catch (err) {
        this.close();
        throw err;
      }
    }
  }

  /**
   * Runs `op` on the connection. If a connection that was already open turns out to be
   * dead before the server said anything (it restarted while we were idle), or the server
   * answered HELLO only after we had gone on in v1, connects again and runs it once more.
   */
  private async retrying<T>(signal: AbortSignal | undefined, op: () => Promise<T>): Promise<T> {
    const reused = this.connected;
    await this.connect(signal);
    try {
      return await op();
    } catch (err) {
      const stale = reused && this.transport.replyBytes === 0 && isAudioStreamError(err, 'CONNECTION_CLOSED');
      if (!stale && !(err instanceof LateHelloReply)) throw err;
      await this.connect(signal);
      return op();
    }
  }

  /** Closes the connection; a request in progress fails with `reason`. */
  close(reason?: AudioStreamError): void {
    this.transport.close(reason);
  }

  /** The server's listing, sorted by index: LIST2 over v2, LIST over v1. */
  async list(signal?: AbortSignal): Promise<ListResult> {
    return this.retrying(signal, async () => {
      if (this.negotiated === 2) {
        const records = await listV2(this.transport, this.options.maxListBytes, signal);
        return { entries: records.map((record, index) => ({ index, ...record })), assumedEmpty: false };
      }
      const { emptyListTimeoutMs, maxListBytes } = this.options;
      return listV1(this.transport, { emptyListTimeoutMs, maxListBytes, signal });
    });
  }

  /** INFO (v2 only): everything the server knows about one file, hash included. */
  async info(path: string, signal?: AbortSignal): Promise<V2Entry> {
    return this.retrying(signal, () => {
      if (this.negotiated !== 2) return Promise.reject(new AudioStreamError('NEEDS_V2', 'this server speaks only protocol v1, which has no file details'));
      return infoV2(this.transport, path, signal);
    });
  }

  /**
   * The bytes of a listed file: GET by path over v2 (from `offset`, with the hash in the
   * trailer), STREAM by index over v1 (whole files only).
   */
  async fetch(entry: Pick<RemoteEntry, 'index' | 'path'>, offset = 0, signal?: AbortSignal): Promise<IncomingFile> {
    return this.retrying(signal, async () => {
      const release = this.transport.releaseChunk;
      if (this.negotiated === 2) {
        const file = await getV2(this.transport, entry.path, offset, signal);
        return { ...file, release };
      }
      if (offset !== 0) throw new AudioStreamError('NEEDS_V2', 'this server speaks only protocol v1, which cannot resume');
      const file = await streamV1(this.transport, entry.index, signal);
      return { size: file.size, offset: 0, length: file.size, body: file.body, release };
    });
  }

  /** STREAM by index (v1, on either kind of server). */
  async stream(index: number, signal?: AbortSignal): Promise<IncomingFile> {
    return this.retrying(signal, async () => {
      const file = await streamV1(this.transport, index, signal);
      return { size: file.size, offset: 0, length: file.size, body: file.body, release: this.transport.releaseChunk };
    });
  }
}
