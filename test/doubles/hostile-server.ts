/**
 * Test double: a scripted server that misbehaves on purpose, to test what a broken or
 * hostile server can do to a client. It speaks v1 (ignoring `HELLO AS/2`, as the original
 * C server does) or, with `version: 2`, answers the HELLO with `AS/2 OK` and skips the
 * `LIST` that directly follows a first HELLO (the probe older clients of ours sent with it, as our
 * server does), then hands every v2 request to the script.
 *
 * Requests are parsed by hand from docs/PROTOCOL.md and answered only through the script's
 * own bytes: nothing here uses src/protocol, so the double can send exactly the malformed
 * reply a test wants. Requests on one connection are answered strictly one after another
 * (the next waits until the script's answer to the previous one has finished).
 *
 * Byte builders for scripts (`v1ListBytes`, `u32`, `v2ListBytes`, `getReplyBytes`…) are at
 * the bottom; they too are written from the protocol text, not taken from src/.
 */
import { createHash } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a script gets for each request: the connection and ways to answer on it. */
export interface HostileContext {
  /** Which connection this is, counting from 0 across the double's life. */
  readonly connection: number;
  /** How many requests of this kind came before, across all connections (every v1 LIST counts). */
  readonly count: number;
  readonly socket: net.Socket;
  /** Writes bytes, waiting while the client is not reading; false once the connection is gone. */
  write(bytes: Buffer | string): Promise<boolean>;
  /** Sends `bytes` in `chunkSize` pieces with `delayMs` between them; false if the connection went first. */
  trickle(bytes: Buffer, chunkSize: number, delayMs: number): Promise<boolean>;
  /** Sends `bytes` (if any) and then closes the connection in order (FIN). */
  end(bytes?: Buffer | string): void;
  /** Resets the connection at once (RST), as a crashed server would. */
  reset(): void;
  /** True once the client (or the script) closed the connection. */
  readonly closed: boolean;
  /** Resolves when the connection has closed, whoever closed it. */
  readonly whenClosed: Promise<void>;
}

/** A script's answer; it may write later and resolve when done. Nothing written: no answer at all. */
type Answer = void | Promise<void>;

export interface HostileScript {
  /**
   * 1: a v1-only server (`HELLO` is ignored). 2: `HELLO AS/2` is answered by `hello` (default
   * `AS/2 OK hostile-double\r\n`), and a LIST right after it (an older client's probe) is not answered.
   */
  version: 1 | 2;
  /**
   * How requests are read. `all` (default): every request in a chunk that arrives. `one-per-read`:
   * at most one per chunk, the rest waiting for the next chunk, as servers built on the
   * original starter code do (one request line per read()).
   */
  reads?: 'all' | 'one-per-read';
  /** v2: what to send in answer to `HELLO AS/2` (default a proper `AS/2 OK` line). */
  hello?(ctx: HostileContext): Answer;
  /** v1 LIST. Default: nothing. */
  list?(ctx: HostileContext): Answer;
  /** v1 STREAM with its index. Default: close the connection, as v1 must. */
  stream?(index: number, ctx: HostileContext): Answer;
  /** v2 LIST2. */
  list2?(ctx: HostileContext): Answer;
  /** v2 GET, path already unescaped from its JSON string; `length` undefined means "to the end". */
  get?(request: { path: string; offset: number; length: number | undefined }, ctx: HostileContext): Answer;
  /** v2 INFO. */
  info?(path: string, ctx: HostileContext): Answer;
}

export interface HostileServer {
  port: number;
  /**
   * Every request, in order: `c<connection> <line>`, STREAM as `c<n> STREAM <index>`,
   * e.g. `c0 HELLO AS/2`, `c0 LIST`, `c1 GET "a.wav" 0`.
   */
  readonly requests: string[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Requests (as in `requests`) without the connection prefix. */
  requestLines(): string[];
  close(): Promise<void>;
}

export async function startHostileServer(script: HostileScript): Promise<HostileServer> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  const counts = new Map<string, number>();
  let connections = 0;
  const countOf = (kind: string): number => {
    const n = counts.get(kind) ?? 0;
    counts.set(kind, n + 1);
    return n;
  };

  const server = net.createServer((socket) => {
    const connection = connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    let closed = false;
    const whenClosed = new Promise<void>((resolve) =>
      socket.on('close', () => {
        closed = true;
        sockets.delete(socket);
        resolve();
      }),
    );
    const context = (kind: string): HostileContext => ({
      connection,
      count: countOf(kind),
      socket,
      write: (bytes) => writeAll(socket, bytes),
      async trickle(bytes, chunkSize, delayMs) {
        for (let pos = 0; pos < bytes.length; pos += chunkSize) {
          if (!(await writeAll(socket, bytes.subarray(pos, pos + chunkSize)))) return false;
          await sleep(delayMs);
        }
        return !socket.destroyed;
      },
      end: (bytes) => {
        if (socket.destroyed) return;
        if (bytes === undefined) socket.end();
        else socket.end(bytes);
      },
      reset: () => {
        if (!socket.destroyed) socket.resetAndDestroy();
      },
      get closed() {
        return closed;
      },
      whenClosed,
    });

    let pending = Buffer.alloc(0);
    let wantIndex = false;
    let helloDone = false;
    let skipProbe = false;
    // Answers run one at a time, in order of the requests.
    let queue: Promise<void> = Promise.resolve();
    const answer = (run: () => Answer): void => {
      queue = queue.then(run).catch(() => void socket.destroy());
    };

    const onePerRead = script.reads === 'one-per-read';
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let handled = 0;
      for (;;) {
        if (wantIndex) {
          // STREAM\r\n is followed by the index: 4 bytes, most significant first.
          if (pending.length < 4) return;
          const index = ((pending[0]! << 24) >>> 0) + (pending[1]! << 16) + (pending[2]! << 8) + pending[3]!;
          pending = pending.subarray(4);
          wantIndex = false;
          requests.push(`c${connection} STREAM ${index}`);
          const ctx = context('STREAM');
          answer(() => (script.stream ? script.stream(index, ctx) : ctx.reset()));
          continue;
        }
        if (onePerRead && handled > 0) return; // the rest waits for the next read
        const lf = pending.indexOf(0x0a);
        if (lf === -1) return;
        handled++;
        const line = pending.subarray(0, lf).toString('utf8').replace(/\r$/, '');
        pending = pending.subarray(lf + 1);
        if (line === 'STREAM') {
          wantIndex = true;
          continue;
        }
        requests.push(`c${connection} ${line}`);
        if (line === 'HELLO AS/2' && script.version === 2 && !helloDone) {
          helloDone = true;
          skipProbe = true;
          const ctx = context('HELLO');
          answer(() => (script.hello ? script.hello(ctx) : void ctx.write('AS/2 OK hostile-double\r\n')));
          continue;
        }
        if (skipProbe && line === 'LIST') {
          skipProbe = false; // the v1 fallback probe: a v2 server does not answer it
          continue;
        }
        skipProbe = false;
        const ctx = (kind: string): HostileContext => context(kind);
        if (line === 'LIST') {
          const c = ctx('LIST');
          answer(() => script.list?.(c));
        } else if (line === 'LIST2' && script.version === 2) {
          const c = ctx('LIST2');
          answer(() => script.list2?.(c));
        } else if (script.version === 2 && (line.startsWith('GET ') || line.startsWith('INFO '))) {
          const parsed = parseV2PathRequest(line);
          if (!parsed) {
            const c = ctx('BAD');
            answer(() => void c.write('ERR BAD_REQUEST hostile double could not parse that\r\n'));
          } else if (parsed.verb === 'GET') {
            const c = ctx('GET');
            answer(() => script.get?.({ path: parsed.path, offset: parsed.offset, length: parsed.length }, c));
          } else {
            const c = ctx('INFO');
            answer(() => script.info?.(parsed.path, c));
          }
        }
        // anything else is ignored, as the original server ignores unknown lines
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    get connections() {
      return connections;
    },
    requestLines: () => requests.map((r) => r.replace(/^c\d+ /, '')),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes and waits for 'drain' when the socket's buffer is full; false once the socket is gone. */
function writeAll(socket: net.Socket, bytes: Buffer | string): Promise<boolean> {
  if (socket.destroyed || !socket.writable) return Promise.resolve(false);
  if (socket.write(bytes)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => (): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** `GET "<json path>" <offset> [<length>]` or `INFO "<json path>"`, parsed by hand. */
function parseV2PathRequest(line: string): { verb: 'GET' | 'INFO'; path: string; offset: number; length: number | undefined } | undefined {
  const m = /^(GET|INFO) ("(?:[^"\\]|\\.)*")(?: (\d+))?(?: (\d+))?$/.exec(line);
  if (!m) return undefined;
  let path: unknown;
  try {
    path = JSON.parse(m[2]!);
  } catch {
    return undefined;
  }
  return { verb: m[1] as 'GET' | 'INFO', path: path as string, offset: Number(m[3] ?? 0), length: m[4] === undefined ? undefined : Number(m[4]) };
}

// ---- byte builders for scripts (from docs/PROTOCOL.md, independent of src/protocol) ----

/** 0 to 2^32-1 as 4 bytes, most significant first. */
export function u32(n: number): Buffer {
  return Buffer.from([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** A v1 LIST reply for paths by index (index 0 first): `<i>:<path>\r\n`, highest index first. */
export function v1ListBytes(paths: readonly (string | Buffer)[]): Buffer {
  const lines: Buffer[] = [];
  for (let i = paths.length - 1; i >= 0; i--) {
    const p = paths[i]!;
    lines.push(Buffer.from(`${i}:`, 'latin1'), typeof p === 'string' ? Buffer.from(p, 'utf8') : p, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(lines);
}

/** A whole v1 STREAM reply: the size (u32, big-endian) and the body. */
export function v1StreamBytes(body: Buffer): Buffer {
  return Buffer.concat([u32(body.length), body]);
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** One LIST2 record line (no CR LF): path, size, mtime and any extra fields. */
export function v2Record(path: string, size: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ path, size, mtime: 1_704_067_200_000, ...extra });
}

/** A LIST2 reply: `OK <count>` and one line per record (records are sent as given). */
export function v2ListBytes(records: readonly string[], count = records.length): Buffer {
  return Buffer.from([`OK ${count}`, ...records].map((l) => `${l}\r\n`).join(''), 'utf8');
}

/**
 * A GET reply for `file` from `offset`: `OK <size> <offset> <length>`, the bytes, then
 * `DONE <sha256 of the whole file>` (or the trailer given).
 */
export function getReplyBytes(file: Buffer, offset = 0, trailer = `DONE ${sha256Hex(file)}`): Buffer {
  const body = file.subarray(offset);
  return Buffer.concat([Buffer.from(`OK ${file.length} ${offset} ${body.length}\r\n`, 'latin1'), body, Buffer.from(`${trailer}\r\n`, 'latin1')]);
}
