import { promises as fsp } from 'node:fs';
import type { Socket } from 'node:net';
import type { Library, LibraryEntry } from '../library/index.js';
import {
  AudioStreamError,
  MAX_V1_SIZE,
  RequestParser,
  encodeStreamHeader,
  isAudioStreamError,
  type Request,
} from '../protocol/index.js';
import { formatPeer, type Logger } from './log.js';
import { waitForDrain } from './socket-writes.js';

export interface ConnectionOptions {
  library: Library;
  log: Logger;
  maxRequestLine: number;
  /** Bytes read from a file per chunk. */
  readChunkSize: number;
  /** Requests parsed but not yet answered before we stop reading from the socket. */
  maxQueuedRequests: number;
}

/**
 * One client connection: parses requests as bytes arrive and answers them strictly in
 * order, one at a time, so replies never interleave. Reading from the socket pauses while
 * too many requests wait, and every write honours backpressure, so a client that does not
 * read costs a bounded amount of memory.
 */
export class ServerConnection {
  readonly peer: string;
  private readonly socket: Socket;
  private readonly options: ConnectionOptions;
  private readonly parser: RequestParser;
  private readonly queue: Request[] = [];
  private busy = false;
  private closed = false;
  /** The client half-closed: answer what it asked, then end our side too. */
  private inputEnded = false;
  private readonly openedAt = Date.now();
  private bytesSent = 0;
  private requests = 0;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.peer = formatPeer(socket.remoteAddress, socket.remotePort);
    this.parser = new RequestParser({ maxLineLength: options.maxRequestLine });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {}); // 'close' follows; a reset client is not our error
    socket.on('end', () => {
      this.inputEnded = true;
      this.endIfFinished();
    });
    socket.on('close', () => this.onClose());
    options.log.info(`${this.peer} connected`);
  }

  /** Closes the connection at once (server shutdown). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let requests: Request[];
    try {
      requests = this.parser.feed(chunk);
    } catch (err) {
      this.fail(isAudioStreamError(err) ? err.message : String(err));
      return;
    }
    this.queue.push(...requests);
    if (this.queue.length >= this.options.maxQueuedRequests) this.socket.pause();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const request = this.queue.shift()!;
        if (this.queue.length < this.options.maxQueuedRequests) this.socket.resume();
        this.requests++;
        await this.answer(request);
      }
    } catch (err) {
      this.fail(isAudioStreamError(err) ? err.message : `unexpected error: ${String(err)}`);
    } finally {
      this.busy = false;
    }
    this.endIfFinished();
  }

  private endIfFinished(): void {
    if (this.inputEnded && !this.busy && this.queue.length === 0 && !this.closed) this.socket.end();
  }

  private async answer(request: Request): Promise<void> {
    switch (request.kind) {
      case 'list':
        return this.answerList();
      case 'stream':
        return this.answerStream(request.index);
      case 'unknown':
        // The original server ignores lines it does not know; v1 peers rely on that.
        this.options.log.info(`${this.peer} ignored unknown request ${JSON.stringify(request.line.slice(0, 60))}`);
        return;
    }
  }

  private async answerList(): Promise<void> {
    const started = Date.now();
    const index = this.options.library.current;
    const reply = index.v1ListReply();
    await this.write(reply);
    this.options.log.info(`${this.peer} LIST ${index.v1Entries.length} files, ${reply.length} bytes in ${Date.now() - started} ms`);
  }

  private async answerStream(i: number): Promise<void> {
    const started = Date.now();
    // Take the snapshot once: a rescan during the transfer does not change what we send.
    const entry: LibraryEntry | undefined = this.options.library.current.v1Entries[i];
    if (!entry) {
      // v1 has no way to say "error": closing is the only honest answer.
      throw new AudioStreamError('BAD_INDEX', `STREAM ${i}: no such index (the library has ${this.options.library.current.v1Entries.length} files)`);
    }
    let file: fsp.FileHandle;
    try {
      file = await fsp.open(entry.absolutePath, 'r');
    } catch (err) {
      throw new AudioStreamError('FILE_VANISHED', `STREAM ${i} "${entry.path}": cannot open (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    let sent = 0;
    try {
      const { size } = await file.stat();
      if (size > MAX_V1_SIZE) {
        throw new AudioStreamError('FILE_TOO_LARGE', `STREAM ${i} "${entry.path}": ${size} bytes cannot be described in protocol v1`);
      }
      // Header and first body bytes leave in one segment.
      this.socket.cork();
      this.socket.write(encodeStreamHeader(size));
      if (size === 0) {
        this.socket.uncork();
      } else {
        const stream = file.createReadStream({ start: 0, end: size - 1, highWaterMark: this.options.readChunkSize, autoClose: false });
        let first = true;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (this.closed) {
            stream.destroy();
            break;
          }
          // Ask the socket, not a remembered write() result: 'drain' may have fired while
          // we waited for the file.
          if (this.socket.writableNeedDrain) await waitForDrain(this.socket);
          this.socket.write(chunk);
          if (first) {
            this.socket.uncork();
            first = false;
          }
          sent += chunk.length;
        }
        if (first) this.socket.uncork();
        if (!this.closed && sent !== size) {
          // The file shrank under us: the size we announced is now a lie, so the client
          // must see the connection end rather than wait for bytes that will not come.
          throw new AudioStreamError('FILE_CHANGED', `STREAM ${i} "${entry.path}": file shrank from ${size} to ${sent} bytes during the transfer`);
        }
        if (this.socket.writableNeedDrain && !this.closed) await waitForDrain(this.socket);
      }
      this.bytesSent += size;
      this.options.log.info(`${this.peer} STREAM ${i} "${entry.path}" ${size} bytes in ${Date.now() - started} ms`);
    } catch (err) {
      if (this.closed) {
        this.options.log.info(`${this.peer} STREAM ${i} "${entry.path}" cut off by the client after ${sent} bytes`);
        return;
      }
      throw err;
    } finally {
      await file.close().catch(() => {});
    }
  }

  private async write(buf: Buffer): Promise<void> {
    if (this.closed) return;
    this.socket.write(buf);
    if (this.socket.writableNeedDrain) await waitForDrain(this.socket).catch(() => {});
  }

  private fail(reason: string): void {
    this.options.log.warn(`${this.peer} closing: ${reason}`);
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.options.log.info(`${this.peer} disconnected after ${this.requests} requests, ${this.bytesSent} bytes in ${Date.now() - this.openedAt} ms`);
  }
}
