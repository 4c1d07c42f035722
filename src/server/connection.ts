import type { Socket } from 'node:net';
import { setImmediate } from 'node:timers/promises';
import type { Library, LibraryEntry } from '../library/index.js';
import {
  AudioStreamError,
  MAX_V1_SIZE,
  RequestParser,
  encodeStreamHeader,
  formatV2Error,
  encodeV2Line,
  isAudioStreamError,
  parseV2Request,
  type Request,
  type V2Request,
} from '../protocol/index.js';
import { sendFileRange } from './file-sender.js';
import { formatPeer, type Logger } from './log.js';
import { CONNECTION_LOG_RATE, RateLimitedLogger } from './log-limiter.js';
import type { ReplyChannel } from './reply-channel.js';
import { waitForDrain } from './socket-writes.js';
import { answerV2, sendV2Error } from './v2-handlers.js';
import type { AccessPolicy, PlainTextPolicy } from './access-policy.js';
import { ConnectionGate } from './v2-auth.js';

export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/**
 * Lines a connection may send that have no effect (empty lines, unknown requests, v2
 * requests that do not parse) before it is closed: each costs the server a little, and a
 * flood of them cost every other client. Generous: a v1 client (the original server ignores
 * unknown lines) sends none, and a person at a v2 shell will not type this many mistakes.
 */
export const MAX_LINES_WITHOUT_EFFECT = 1024;
/** Requests answered in a row before the event loop is let in (see pump()). */
const YIELD_EVERY_REQUESTS = 32;

export interface ConnectionOptions {
  library: Library;
  log: Logger;
  maxRequestLine: number;
  /** Bytes read from a file per chunk. */
  readChunkSize: number;
  /** Requests parsed but not yet answered before we stop reading from the socket. */
  maxQueuedRequests: number;
  /** A connection with no traffic either way for this long is closed (default 300 s). */
  idleTimeoutMs?: number;
  /**
   * A request begun must be complete within this long (a slowloris sending one byte at a
   * time would keep resetting an inactivity timer, so this one is not reset by bytes).
   * Default 10 s.
   */
  requestTimeoutMs?: number;
  /** Accounts and policy (v2 login, v1 allow list); without it everyone is served. */
  access?: AccessPolicy;
  /** Set on a plain-text connection to a server with `--require-tls`: v2 refused, v1 only from its addresses. */
  plainText?: PlainTextPolicy;
}

/**
 * One client connection: parses requests as bytes arrive and answers them strictly in
 * order, one at a time, so replies never interleave. Reading from the socket pauses while
 * too many requests wait, and every write honours backpressure, so a client that does not
 * read costs a bounded amount of memory.
 */
export class ServerConnection implements ReplyChannel {
  readonly peer: string;
  private readonly socket: Socket;
  private readonly options: ConnectionOptions;
  private readonly parser: RequestParser;
  /** This connection's log lines, rate-limited (CONNECTION_LOG_RATE) on top of the server's limit. */
  private readonly log: RateLimitedLogger;
  /** Lines answered without effect so far (see MAX_LINES_WITHOUT_EFFECT). */
  private linesWithoutEffect = 0;
  private answeredSinceYield = 0;
  private closingLogged = false;
  private readonly queue: Request[] = [];
  private busy = false;
  private isClosed = false;
  /** The client half-closed: answer what it asked, then end our side too. */
  private inputEnded = false;
  private readonly openedAt = Date.now();
  private bytesSent = 0;
  private requests = 0;
  /**
   * 1 until the client says HELLO AS/2. A v1 client never does, and so sees exactly v1:
   * v2 request lines are ignored like any other unknown line.
   */
  private version: 1 | 2 = 1;
  /** The LIST sent with HELLO is the v1-fallback probe; a v2 server does not answer it. */
  private probePending = false;
  /** The request stream could not be framed; we are closing and ignore what else comes. */
  private inputBroken = false;
  /** Running while part of a request has arrived but not the rest. */
  private requestTimer: NodeJS.Timeout | undefined;
  /** The last reply before we close (v2 `ERR REQUEST_TOO_LONG`), sent once the replies due before it are out. */
  private closingReply: Buffer | undefined;
  /** Login state and policy, when the server has accounts configured. */
  private readonly gate: ConnectionGate | undefined;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.peer = formatPeer(socket.remoteAddress, socket.remotePort);
    if (options.access) this.gate = new ConnectionGate({ policy: options.access, address: socket.remoteAddress ?? '', peer: this.peer, log: options.log });
    this.parser = new RequestParser({ maxLineLength: options.maxRequestLine });
    socket.setNoDelay(true);
    const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    socket.setTimeout(idleMs);
    socket.on('timeout', () => this.fail(`no traffic for ${idleMs / 1000} s`));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {}); // 'close' follows; a reset client is not our error
    socket.on('end', () => {
      this.inputEnded = true;
      this.endIfFinished();
    });
    socket.on('close', () => this.onClose());
    this.log = new RateLimitedLogger(options.log, CONNECTION_LOG_RATE);
    this.log.info(`${this.peer} connected`);
  }

  /** Closes the connection at once (server shutdown). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.inputBroken) return;
    let requests: Request[];
    try {
      requests = this.parser.feed(chunk);
    } catch (err) {
      const message = isAudioStreamError(err) ? err.message : String(err);
      // The rest of the stream cannot be framed any more: say why (v2) and close.
      if (this.version === 2 && isAudioStreamError(err, 'REQUEST_TOO_LONG')) {
        // In order, like every reply: written at once, the ERR line landed inside a GET body
        // still being sent. The over-long line never completes, so the request timer keeps
        // running: a flood cannot hold the connection open while we finish.
        this.closingReply = encodeV2Line(formatV2Error('REQUEST_TOO_LONG', message));
        this.closingLog(message);
        this.inputBroken = true;
        this.startRequestTimer();
        this.endIfFinished();
        return;
      }
      this.fail(message);
      return;
    }
    // A completed request stops its timer; one begun behind it in the same chunk gets a
    // fresh one (a steady pipeliner's packets rarely end on a request boundary).
    if (!this.parser.inRequest || requests.length > 0) this.stopRequestTimer();
    this.queue.push(...requests);
    if (this.queue.length >= this.options.maxQueuedRequests) {
      this.socket.pause();
      // The rest of a request begun waits unread because of our pause, not the client's pace.
      this.stopRequestTimer();
    } else if (this.parser.inRequest) this.startRequestTimer();
    void this.pump();
  }

  private startRequestTimer(): void {
    const ms = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (this.requestTimer || ms <= 0) return;
    this.requestTimer = setTimeout(() => this.fail(`request not completed within ${ms / 1000} s`), ms);
    this.requestTimer.unref();
  }

  private stopRequestTimer(): void {
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        // Start a request only once earlier replies have drained: a reply may end still over
        // the high-water mark (a corked header and first chunk, an empty file's header), and
        // without this a client that never reads could make us buffer without limit.
        if (this.socket.writableNeedDrain) {
          const drained = await waitForDrain(this.socket).then(() => true, () => false);
          if (!drained) break;
          continue;
        }
        const request = this.queue.shift()!;
        if (this.queue.length < this.options.maxQueuedRequests && this.socket.isPaused()) {
          this.socket.resume();
          if (this.parser.inRequest && !this.inputBroken) this.startRequestTimer(); // reading again: the client's turn
        }
        this.requests++;
        await this.answer(request);
        // Cheap requests answer without I/O (in microtasks only): every so often let the
        // event loop in, so one pipelining connection cannot hold it.
        if (++this.answeredSinceYield >= YIELD_EVERY_REQUESTS) {
          this.answeredSinceYield = 0;
          await setImmediate();
        }
      }
    } catch (err) {
      this.fail(isAudioStreamError(err) ? err.message : `unexpected error: ${String(err)}`);
    } finally {
      this.busy = false;
    }
    this.endIfFinished();
  }

  private endIfFinished(): void {
    if ((this.inputEnded || this.closingReply) && !this.busy && this.queue.length === 0 && !this.isClosed && !this.socket.writableEnded) {
      if (this.closingReply) this.socket.end(this.closingReply);
      else this.socket.end();
    }
  }

  /**
   * The peer has gone. True as soon as the socket is destroyed (a failed write destroys it
   * at once, but 'close' comes later): queued work stops then, not after it has all run.
   */
  get closed(): boolean {
    return this.isClosed || this.socket.destroyed;
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  /** Writes in order; waits only when the socket's buffer is full (backpressure). */
  async write(bytes: Buffer): Promise<void> {
    if (this.closed) return;
    this.socket.write(bytes);
    // Ask the socket, not a remembered write() result: 'drain' may already have fired.
    // Never wait while corked: corked bytes are not flushed, so 'drain' would never come.
    if (this.socket.writableNeedDrain && this.socket.writableCorked === 0) await waitForDrain(this.socket).catch(() => {});
  }

  private async answer(request: Request): Promise<void> {
    const probe = this.probePending;
    this.probePending = false;
    switch (request.kind) {
      case 'list':
        if (probe) return; // the v1-fallback probe that came with HELLO
        if (this.refusedPlainV1('LIST')) return;
        if (await this.refusedV1('LIST')) return;
        return this.answerList();
      case 'stream':
        if (this.refusedPlainV1(`STREAM ${request.index}`)) return;
        if (await this.refusedV1(`STREAM ${request.index}`)) return;
        return this.answerStream(request.index);
      case 'unknown':
        return this.answerLine(request.line);
    }
  }

  /** A line that is not v1: a v2 request, or (in a v1 session) a line to ignore. */
  private async answerLine(line: string): Promise<void> {
    if (this.version === 2 && this.gate && ConnectionGate.isLoginLine(line)) return this.answerLogin(this.gate, line);
    let v2: V2Request | undefined;
    try {
      v2 = parseV2Request(line);
    } catch (err) {
      if (this.version === 2) {
        if (this.overBudget()) return;
        await sendV2Error(this, 'BAD_REQUEST', (err as Error).message);
        return;
      }
    }
    if (!v2 || (this.version === 1 && v2.kind !== 'hello')) {
      if (this.overBudget()) return;
      if (this.version === 2) {
        await sendV2Error(this, 'UNKNOWN_REQUEST', `unknown request ${JSON.stringify(line.slice(0, 60))}`);
        return;
      }
      // The original server ignores lines it does not know; v1 peers rely on that. Not
      // logged one by one (a flood of them filled the log): counted in the disconnect line.
      return;
    }
    if (v2.kind === 'hello' && this.options.plainText) {
      // --require-tls: v2 in plain text is refused outright (no login in clear, no listing
      // to read on the wire). Told why, then closed: what else was sent is dropped.
      await sendV2Error(this, 'TLS_REQUIRED', 'this server speaks v2 only over TLS: connect with --tls');
      this.closingLog('plain-text v2 refused (--require-tls)');
      this.inputBroken = true;
      this.queue.length = 0;
      this.socket.end();
      return;
    }
    if (v2.kind === 'hello') {
      // Only the first HELLO comes with the fallback probe; a repeated HELLO does not.
      this.probePending = this.version === 1;
      this.version = 2;
    } else if (this.gate && (await this.gate.admitV2()) === 'refuse') {
      await sendV2Error(this, 'AUTH_REQUIRED', 'log in first: this server has accounts (as-client -u USER)');
      return;
    }
    const started = Date.now();
    const outcome = await answerV2(v2, { library: this.options.library, channel: this, readChunkSize: this.options.readChunkSize });
    this.bytesSent += outcome.bytes;
    this.log.info(`${this.peer} ${outcome.summary}, ${outcome.bytes} bytes in ${Date.now() - started} ms`);
  }

  /**
   * Counts one line without effect; past MAX_LINES_WITHOUT_EFFECT, the connection closes
   * (v2 is told why first, after the replies due before it) and what else it sent is
   * dropped. True when it is closing.
   */
  private overBudget(): boolean {
    if (++this.linesWithoutEffect <= MAX_LINES_WITHOUT_EFFECT) return false;
    const message = `more than ${MAX_LINES_WITHOUT_EFFECT} requests without effect; closing`;
    this.closingLog(message);
    this.queue.length = 0;
    this.inputBroken = true;
    // Ended, not destroyed: the replies already written still reach the client. One that
    // does not read them cannot hold the connection open past the request timeout.
    this.closingReply = this.version === 2 ? encodeV2Line(formatV2Error('BAD_REQUEST', message)) : Buffer.alloc(0);
    this.startRequestTimer();
    return true;
  }

  /** `--require-tls`: a v1 request in plain text from outside `--allow-v1-from` closes the connection. */
  private refusedPlainV1(what: string): boolean {
    const policy = this.options.plainText;
    if (!policy || this.version === 2 || policy.v1AllowedFrom(this.socket.remoteAddress)) return false;
    this.fail(`${what}: this server requires TLS, and v1 (which has none) is served only to ${policy.v1AllowedText} (--allow-v1-from)`);
    return true;
  }

  /**
   * Policy for v1 requests once accounts exist: a v1 peer cannot log in, so one outside the
   * allow list is closed with a log line saying why; a v2 peer not logged in gets ERR AUTH_REQUIRED.
   */
  private async refusedV1(what: string): Promise<boolean> {
    if (!this.gate || (await this.gate.admitV1()) === 'serve') return false;
    if (this.version === 2) {
      await sendV2Error(this, 'AUTH_REQUIRED', 'log in first: this server has accounts (as-client -u USER)');
      return true;
    }
    this.fail(`${what}: ${this.gate.v1Refusal}`);
    return true;
  }

  private async answerLogin(gate: ConnectionGate, line: string): Promise<void> {
    const started = Date.now();
    const summary = await gate.answer(line, this);
    this.options.log.info(`${this.peer} ${summary} in ${Date.now() - started} ms`);
    if (gate.exhausted) {
      this.options.log.warn(`${this.peer} closing: too many failed logins on one connection`);
      this.inputBroken = true;
      this.queue.length = 0;
      this.socket.end();
    }
  }

  private async answerList(): Promise<void> {
    const started = Date.now();
    const library = this.options.library;
    const index = library.current;
    let bytes = 0;
    // In pieces when the reply is kept in a file (a large library): a piece's memory is read
    // into again once the socket has taken the last one.
    for (const piece of library.v1ListReply(index, () => this.pendingBytes === 0)) {
      if (this.closed) break;
      bytes += piece.length;
      await this.write(piece);
    }
    this.log.info(`${this.peer} LIST ${index.v1Count} files, ${bytes} bytes in ${Date.now() - started} ms`);
  }

  private async answerStream(i: number): Promise<void> {
    const started = Date.now();
    // Take the snapshot once: a rescan during the transfer does not change what we send.
    const entry: LibraryEntry | undefined = this.options.library.current.v1Entry(i);
    if (!entry) {
      // v1 has no way to say "error": closing is the only honest answer.
      throw new AudioStreamError('BAD_INDEX', `STREAM ${i}: no such index (the library has ${this.options.library.current.v1Count} files)`);
    }
    const { handle: file, stat } = await this.options.library.openFile(entry);
    try {
      const { size } = stat;
      if (size > MAX_V1_SIZE) {
        throw new AudioStreamError('FILE_TOO_LARGE', `STREAM ${i} "${entry.path}": ${size} bytes cannot be described in protocol v1`);
      }
      // Header and first body bytes leave in one segment.
      this.socket.cork();
      await this.write(encodeStreamHeader(size));
      const { sent } = await sendFileRange(this, file, 0, size, this.options.readChunkSize);
      if (this.closed) {
        this.log.info(`${this.peer} STREAM ${i} "${entry.path}" cut off by the client after ${sent} bytes`);
        return;
      }
      if (sent !== size) {
        // The file shrank under us: the size we announced is now a lie, so the client
        // must see the connection end rather than wait for bytes that will not come.
        throw new AudioStreamError('FILE_CHANGED', `STREAM ${i} "${entry.path}": file shrank from ${size} to ${sent} bytes during the transfer`);
      }
      this.bytesSent += size;
      this.log.info(`${this.peer} STREAM ${i} "${entry.path}" ${size} bytes in ${Date.now() - started} ms`);
    } finally {
      await file.close().catch(() => {});
    }
  }

  private fail(reason: string): void {
    this.closingLog(reason);
    this.socket.destroy();
  }

  /**
   * Why we close, logged past the connection's own rate limit (the server-wide one still
   * applies): a connection closes once, and this is the line that says what it did.
   */
  private closingLog(reason: string): void {
    if (this.closingLogged) return;
    this.closingLogged = true;
    this.options.log.warn(`${this.peer} closing: ${reason}`);
  }

  private onClose(): void {
    clearTimeout(this.requestTimer);
    if (this.isClosed) return;
    this.isClosed = true;
    this.queue.length = 0;
    const dropped = this.log.takeDropped();
    // Not subject to the connection's own limit: this line reports what that limit held back.
    this.options.log.info(`${this.peer} disconnected after ${this.requests} requests, ${this.bytesSent} bytes in ${Date.now() - this.openedAt} ms${this.linesWithoutEffect > 0 ? `, ${this.linesWithoutEffect} line${this.linesWithoutEffect === 1 ? '' : 's'} without effect` : ''}${dropped > 0 ? ` (${dropped} log line${dropped === 1 ? '' : 's'} of it not written: rate limit)` : ''}`);
  }
}
