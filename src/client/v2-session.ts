/**
 * Protocol v2 from the client's side: LIST2, INFO and GET on a connection that has said
 * HELLO and been answered. Every field of a reply is checked against the request before it
 * is used: a hostile server must not be able to make the client write, truncate or hash
 * anything it did not ask for.
 */
import type { Readable } from 'node:stream';
import {
  AudioStreamError,
  DEFAULT_MAX_LIST_ENTRIES,
  MAX_V2_LINE,
  ReplyReader,
  encodeV2Line,
  formatV2Request,
  isAudioStreamError,
  parseGetHeader,
  parseGetTrailer,
  parseV2Entry,
  parseV2Status,
  type ErrorCode,
  type V2Entry,
  type V2GetHeader,
  type V2Request,
} from '../protocol/index.js';
import type { ConnectionTransport, ReplyHandler } from './connection-transport.js';
import { checkListBytes } from './v1-session.js';

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

/** LIST2: every record, numbered from 0 in the server's order. */
export function listV2(transport: ConnectionTransport, maxListBytes: number, signal: AbortSignal | undefined): Promise<V2Entry[]> {
  const socket = transport.socket!;
  const entries: V2Entry[] = [];
  let expected: number | undefined;
  let listBytes = 0;
  return v2Request<V2Entry[]>(transport, { kind: 'list2' }, signal, (resolve, reject) => ({
    line: (text) => {
      listBytes = checkListBytes(listBytes + text.length + 2, maxListBytes); // characters held, plus CR LF
      if (expected === undefined) {
        const status = parseV2Status(text);
        if (!status.ok) {
          transport.finish(socket); // an ERR reply ends the reply; the connection stays in step
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
        entries.push(parseV2Entry(text));
      }
      if (entries.length === expected) {
        transport.finish(socket);
        resolve(entries);
      }
      return 0;
    },
    body: () => {},
  }));
}

/** INFO: everything the server knows about one file, hash included. */
export function infoV2(transport: ConnectionTransport, path: string, signal: AbortSignal | undefined): Promise<V2Entry> {
  const socket = transport.socket!;
  return v2Request<V2Entry>(transport, { kind: 'info', path }, signal, (resolve, reject) => ({
    line: (text) => {
      const status = parseV2Status(text);
      transport.finish(socket);
      if (!status.ok) {
        reject(serverError(status.code, status.message));
        return 0;
      }
      const entry = parseV2Entry(status.rest);
      if (entry.path !== path) reject(new AudioStreamError('PROTOCOL_ERROR', `asked about ${JSON.stringify(path.slice(0, 60))}, the server answered about ${JSON.stringify(entry.path.slice(0, 60))}`));
      else resolve(entry);
      return 0;
    },
    body: () => {},
  }));
}

export interface IncomingV2File extends V2GetHeader {
  body: Readable;
  /** After the body: the server's SHA-256 of the whole file, or an error. */
  trailer: Promise<string>;
}

/**
 * The numbers of a GET reply, checked against the request (`GET path offset`, to the end):
 * the body starts where we asked, or at 0 (a server may ignore a range, as an HTTP server
 * may: the client then rewrites from the start), and runs to the end of the file. Anything
 * else would make the client extend or overwrite its partial file at a place it never
 * asked for (a reply claiming a 16 TiB offset once grew a `.part` to 16 TiB).
 */
export function checkGetHeader(header: V2GetHeader, askedOffset: number): void {
  if (header.offset !== askedOffset && header.offset !== 0) {
    throw new AudioStreamError('PROTOCOL_ERROR', `asked for the file from byte ${askedOffset}, the server answered from byte ${header.offset}`);
  }
  if (header.length !== header.size - header.offset) {
    throw new AudioStreamError('PROTOCOL_ERROR', `asked for the rest of the file, the server announced ${header.length} of the ${header.size - header.offset} bytes from ${header.offset}`);
  }
}

/** GET by path from `offset` to the end: resolves with the header once it has come. */
export function getV2(transport: ConnectionTransport, path: string, offset: number, signal: AbortSignal | undefined): Promise<IncomingV2File> {
  const socket = transport.socket!;
  let body: Readable | undefined;
  let header: V2GetHeader | undefined;
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
  return v2Request<IncomingV2File>(transport, { kind: 'get', path, offset, length: undefined }, signal, (resolve, reject) => ({
    line: (text) => {
      if (state === 'status') {
        const status = parseV2Status(text);
        if (!status.ok) {
          transport.finish(socket);
          reject(serverError(status.code, status.message));
          return 0;
        }
        const parsed = parseGetHeader(status.rest);
        checkGetHeader(parsed, offset);
        header = parsed;
        body = transport.bodyStream(socket);
        resolve({ ...header, body, trailer });
        state = 'body';
        if (header.length === 0) bodyDone();
        return header.length;
      }
      const t = parseGetTrailer(text);
      transport.finish(socket);
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
 * Sends one v2 request and feeds its reply through a ReplyReader. `closed` (optional)
 * hears a lost connection first; it returns true if the request promise should
 * still be rejected (nothing was delivered yet).
 */
function v2Request<T>(
  transport: ConnectionTransport,
  request: V2Request,
  signal: AbortSignal | undefined,
  start: (
    resolve: (value: T) => void,
    reject: (err: AudioStreamError) => void,
  ) => { line(text: string): number; body(bytes: Buffer): void; closed?: (err: AudioStreamError) => boolean },
): Promise<T> {
  const socket = transport.socket!;
  return transport.request<T>(encodeV2Line(formatV2Request(request)), signal, (resolve, reject) => {
    socket.setTimeout(transport.options.idleTimeoutMs);
    const handler = start(resolve, reject);
    // The reader goes on through the rest of a chunk after the reply has finished; those
    // bytes belong to no request (a LIST2 with more lines than its count once grew the
    // resolved listing). Refuse them: the catch below closes the connection.
    let owner: ReplyHandler | undefined;
    const reader = new ReplyReader(
      {
        line: (text) => {
          if (transport.current !== owner) throw new AudioStreamError('PROTOCOL_ERROR', 'the server sent bytes after the end of its reply');
          return handler.line(text);
        },
        body: (bytes) => handler.body(bytes),
      },
      MAX_V2_LINE,
    );
    return {
      onData: (chunk) => {
        owner = transport.current;
        try {
          reader.feed(chunk);
        } catch (err) {
          const error = isAudioStreamError(err) ? err : new AudioStreamError('PROTOCOL_ERROR', String(err));
          if (!handler.closed || handler.closed(error)) reject(error);
          transport.close();
        }
      },
      onClose: (err) => {
        if (!handler.closed || handler.closed(err)) reject(err);
      },
      onTimeout: () => transport.close(new AudioStreamError('TIMEOUT', `the server sent nothing for ${transport.options.idleTimeoutMs / 1000} s`)),
    };
  });
}

/**
 * One line of the login exchange (docs/PROTOCOL.md, Login): sends `line` and resolves with the
 * server's one-line answer, at most 4 KiB, with nothing after it.
 */
export function exchangeLoginLine(transport: ConnectionTransport, line: string, signal?: AbortSignal): Promise<string> {
  const socket = transport.socket!;
  let got = Buffer.alloc(0);
  return transport.request<string>(encodeV2Line(line), signal, (resolve, reject) => {
    socket.setTimeout(transport.options.idleTimeoutMs);
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
        transport.finish(socket);
        resolve(got.toString('utf8', 0, lf).replace(/\r$/, ''));
      },
      onClose: reject,
      onTimeout: () => transport.close(new AudioStreamError('TIMEOUT', `the server sent nothing for ${transport.options.idleTimeoutMs / 1000} s`)),
    };
  });
}
