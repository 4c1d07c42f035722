/**
 * Protocol v1 from the client's side: LIST and STREAM, one request at a time on a
 * ConnectionTransport, as servers of the original design need (they read one request line
 * per read() and know nothing of pipelining).
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import {
  AudioStreamError,
  ListParser,
  StreamReplyParser,
  encodeListRequest,
  encodeStreamRequest,
  readListingDialect,
  type ListDialect,
  type ListEntry,
} from '../protocol/index.js';
import type { ConnectionTransport } from './connection-transport.js';

/** A v1 listing: index and path of each file, nothing more. */
export interface V1ListResult {
  /** Sorted by index, from 0. */
  entries: ListEntry[];
  /** Set when the server sent nothing and proved, by closing on `STREAM 0`, that it has no file. */
  assumedEmpty: boolean;
  /** v1 only: how the server wrote its lines. */
  dialect?: ListDialect;
}

export interface V1ListOptions {
  /** After this long with no byte of the reply, find out whether the library is empty. */
  emptyListTimeoutMs: number;
  maxListBytes: number;
  signal?: AbortSignal;
}

/**
 * LIST. v1 cannot say "empty": a server with no files answers nothing at all. Silence alone
 * is never taken as empty (a slow or busy server is silent too): after `emptyListTimeoutMs`
 * the client asks, on a connection of its own, for file 0. A v1 server without that file
 * closes the connection, which proves the library empty; one that starts sending it has
 * files, and the listing is waited for until the idle timeout.
 */
export function listV1(transport: ConnectionTransport, options: V1ListOptions): Promise<V1ListResult> {
  const socket = transport.socket!;
  const listing = v1ListCollector(options.maxListBytes);
  let receivedAny = false;
  let probe: EmptinessProbe | undefined;
  return transport.request<V1ListResult>(encodeListRequest(), options.signal, (resolve, reject) => {
    socket.setTimeout(options.emptyListTimeoutMs);
    const stopProbe = (): void => probe?.cancel();
    return {
      onData: (chunk) => {
        if (!receivedAny) {
          receivedAny = true;
          stopProbe();
          socket.setTimeout(transport.options.idleTimeoutMs);
        }
        try {
          if (!listing.feed(chunk)) return;
          const { entries, dialect } = listing.result();
          transport.finish(socket);
          resolve({ entries, assumedEmpty: false, dialect });
        } catch (err) {
          reject(err as AudioStreamError);
        }
      },
      onClose: (err) => {
        stopProbe();
        reject(err);
      },
      onTimeout: () => {
        if (receivedAny || probe) {
          stopProbe();
          const what = receivedAny ? 'stopped sending the list' : 'sent no list';
          transport.close(new AudioStreamError('TIMEOUT', `the server ${what} for ${transport.options.idleTimeoutMs / 1000} s: it is busy or stuck`));
          return;
        }
        socket.setTimeout(transport.options.idleTimeoutMs - options.emptyListTimeoutMs);
        probe = probeEmptiness(transport, transport.options.idleTimeoutMs);
        void probe.outcome.then((outcome) => {
          // Still this LIST's to decide: nothing came, and the connection is neither closed nor cancelled.
          if (outcome !== 'empty' || receivedAny || transport.socket !== socket) return;
          // Proven empty. A reply on this connection now would be out of step: start afresh next time.
          transport.finish(socket);
          transport.close();
          resolve({ entries: [], assumedEmpty: true });
        });
      },
    };
  });
}

interface EmptinessProbe {
  outcome: Promise<'empty' | 'has-files' | 'unknown'>;
  cancel(): void;
}

/**
 * Asks for file 0 on a new connection: a v1 server closes the connection for an index it
 * does not have, and v1 indexes start at 0, so a close before any byte means no files.
 */
function probeEmptiness(transport: ConnectionTransport, timeoutMs: number): EmptinessProbe {
  const { host, port } = transport.options;
  let socket: net.Socket | undefined;
  const outcome = new Promise<'empty' | 'has-files' | 'unknown'>((resolve) => {
    let connected = false;
    let answered = false;
    socket = net.connect({ host, port, noDelay: true }, () => {
      connected = true;
      socket!.write(encodeStreamRequest(0));
    });
    socket.setTimeout(timeoutMs, () => {
      resolve('unknown');
      socket!.destroy();
    });
    socket.on('data', () => {
      answered = true;
      resolve('has-files');
      socket!.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', (hadError) => resolve(connected && !answered && !hadError ? 'empty' : 'unknown'));
  });
  return {
    outcome,
    cancel: () => socket?.destroy(),
  };
}

export interface IncomingV1File {
  size: number;
  body: Readable;
}

/**
 * STREAM: resolves once the size has arrived, with a body stream. Reading the body
 * slowly pauses the socket, so memory stays bounded whatever the file size.
 */
export function streamV1(transport: ConnectionTransport, index: number, signal: AbortSignal | undefined): Promise<IncomingV1File> {
  const socket = transport.socket!;
  const parser = new StreamReplyParser();
  let body: Readable | undefined;
  return transport.request<IncomingV1File>(encodeStreamRequest(index), signal, (resolve, reject) => {
    socket.setTimeout(transport.options.idleTimeoutMs);
    return {
      onData: (chunk) => {
        const { body: bytes, rest } = parser.feed(chunk);
        if (parser.size !== undefined && !body) {
          body = transport.bodyStream(socket);
          resolve({ size: parser.size, body });
        }
        // Pause only mid-body: after the last byte, _read may never be called again to resume.
        if (bytes && body && !body.push(bytes) && !parser.done) socket.pause();
        if (parser.done) {
          transport.finish(socket);
          body!.push(null);
          if (rest) transport.close(); // bytes nobody asked for: start afresh next time
        }
      },
      onClose: (err) => {
        const what =
          err.code === 'CONNECTION_CLOSED' && parser.size !== undefined
            ? new AudioStreamError('TRUNCATED_TRANSFER', `the server closed the connection after ${parser.received} of ${parser.size} bytes`)
            : err;
        if (body) body.destroy(what);
        else reject(what);
      },
      onTimeout: () => {
        const err = new AudioStreamError('TIMEOUT', `the server sent nothing for ${transport.options.idleTimeoutMs / 1000} s (${parser.received} of ${parser.size ?? '?'} bytes received)`);
        transport.close(err);
      },
    };
  });
}

/**
 * Gathers a v1 LIST reply: `feed` returns true once index 0 has arrived, and throws on a
 * malformed or oversized list, or on bytes after its end. `result` gives the entries by
 * index, from 0, with the names read in the listing's dialect.
 */
function v1ListCollector(maxListBytes: number): { feed(chunk: Buffer): boolean; result(): { entries: ListEntry[]; dialect: ListDialect } } {
  const parser = new ListParser();
  const entries: ListEntry[] = [];
  let bytes = 0;
  return {
    feed: (chunk) => {
      bytes = checkListBytes(bytes + chunk.length, maxListBytes);
      for (const entry of parser.feed(chunk)) entries.push(entry);
      if (!parser.done) return false;
      if (parser.takeRest().length > 0) throw new AudioStreamError('MALFORMED_LIST', 'the server sent bytes after the end of the list');
      return true;
    },
    result: () => readListingDialect([...entries].reverse()),
  };
}

/** The running size of a listing, or LIST_TOO_LONG once it passes `maxListBytes`. */
export function checkListBytes(total: number, maxListBytes: number): number {
  if (total > maxListBytes) {
    throw new AudioStreamError('LIST_TOO_LONG', `the server sent more than ${formatMiB(maxListBytes)} of listing`);
  }
  return total;
}

function formatMiB(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${+(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${bytes} bytes`;
}
