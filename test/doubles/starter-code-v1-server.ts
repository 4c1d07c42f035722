/**
 * Test double: a v1 server built on the original assignment's starter code, as it behaves
 * on the wire. Written from that description only (nothing from src/, nothing from any
 * implementation), and as strict as such a server:
 *
 * - Each read() of the socket goes into a 128-byte buffer and is followed by handling **at
 *   most one** complete request line. Whatever else that read brought stays in the buffer
 *   and is looked at only after the *next* read returns something. A line that does not fit
 *   in the buffer closes the connection.
 * - Unknown lines (`HELLO AS/2` included) are ignored, and logged on its console.
 * - `STREAM\r\n` is followed by the u32 big-endian index, which may be in the same read or
 *   come later, and is read fully. The file then goes out as a u32 big-endian size and the
 *   bytes in 1024-byte writes; while sending, the server reads nothing. A bad index closes
 *   the connection.
 * - LIST lines are `"%d: %s\r\n"` (a space after the colon; `dialect: 'conforming'` drops
 *   it), highest index first, ending with 0. Files are numbered in directory-read order,
 *   not sorted; extensions match case-sensitively (`.MP3` is left out). An empty library
 *   answers LIST with nothing at all.
 * - One process per client: connections are independent, and the files are the ones found
 *   when the server started.
 */
import { opendirSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';

export interface StarterCodeV1ServerOptions {
  /** The directory served. */
  root: string;
  /** `spaced` (default): `"%d: %s"`, as the starter code prints. `conforming`: `"%d:%s"`. */
  dialect?: 'spaced' | 'conforming';
  /** Listen on this port (0, the default, picks a free one). */
  port?: number;
}

export interface StarterCodeV1Server {
  port: number;
  /** Relative paths by index, in the server's own (directory-read) order. */
  readonly files: readonly string[];
  /** What the server printed on its console: `Unknown request: ...`, `LIST`, `STREAM <i>`. */
  readonly console: string[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Drops every open connection, as a server restart would. */
  dropConnections(): void;
  close(): Promise<void>;
}

const BUFFER_SIZE = 128;
const WRITE_SIZE = 1024;
/** The extensions the design serves, matched as written (case-sensitively). */
const EXTENSIONS = ['.wav', '.mp3', '.flac', '.ogg', '.m4a'];

/** Relative paths of the audio files under `root`, depth first, in directory-read order. */
function readFilesInDirectoryOrder(root: string, dir = ''): string[] {
  const found: string[] = [];
  const handle = opendirSync(path.join(root, dir));
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      const relative = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) found.push(...readFilesInDirectoryOrder(root, relative));
      else if (entry.isFile() && EXTENSIONS.some((ext) => entry.name.endsWith(ext))) found.push(relative);
    }
  } finally {
    handle.closeSync();
  }
  return found;
}

export async function startStarterCodeV1Server(options: StarterCodeV1ServerOptions): Promise<StarterCodeV1Server> {
  const files = readFilesInDirectoryOrder(options.root);
  const separator = options.dialect === 'conforming' ? ':' : ': ';
  const consoleLines: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;

  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    void serveClient(socket, { root: options.root, files, separator, log: (line) => consoleLines.push(line) });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    files,
    console: consoleLines,
    get connections() {
      return connections;
    },
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A blocking read() over a socket: `read(max)` resolves with at most `max` bytes, as soon as
 * any are there (what one read() returns), or undefined at end of stream.
 */
function blockingReader(socket: net.Socket): { read(max: number): Promise<Buffer | undefined> } {
  const arrived: Buffer[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    arrived.push(chunk);
    wake?.();
  });
  socket.on('close', () => {
    ended = true;
    wake?.();
  });
  return {
    async read(max) {
      while (arrived.length === 0 && !ended) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const first = arrived.shift();
      if (!first) return undefined;
      if (first.length > max) arrived.unshift(first.subarray(max)); // the rest stays "in the kernel"
      return first.subarray(0, max);
    },
  };
}

/** Writes and waits while the client is not reading (a blocking write()); false once the connection is gone. */
function blockingWrite(socket: net.Socket, bytes: Buffer): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(false);
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

/** The per-client loop: one read, then at most one request out of the buffer. */
async function serveClient(socket: net.Socket, ctx: { root: string; files: readonly string[]; separator: string; log(line: string): void }): Promise<void> {
  const reader = blockingReader(socket);
  let buffer = Buffer.alloc(0);
  for (;;) {
    if (buffer.length >= BUFFER_SIZE) {
      ctx.log('Request too long');
      socket.destroy();
      return;
    }
    const got = await reader.read(BUFFER_SIZE - buffer.length);
    if (!got) return; // the client left
    buffer = Buffer.concat([buffer, got]);
    const lf = buffer.indexOf(0x0a);
    if (lf === -1) continue;
    const line = buffer.subarray(0, lf).toString('latin1').replace(/\r$/, '');
    buffer = buffer.subarray(lf + 1);
    if (line === 'LIST') {
      ctx.log('LIST');
      let text = '';
      for (let i = ctx.files.length - 1; i >= 0; i--) text += `${i}${ctx.separator}${ctx.files[i]}\r\n`;
      if (text !== '' && !(await blockingWrite(socket, Buffer.from(text, 'utf8')))) return;
    } else if (line === 'STREAM') {
      // The index: what the buffer holds already, then reads of just the bytes still missing.
      let index = buffer.subarray(0, 4);
      buffer = buffer.subarray(index.length);
      while (index.length < 4) {
        const more = await reader.read(4 - index.length);
        if (!more) return;
        index = Buffer.concat([index, more]);
      }
      const i = index.readUInt32BE(0);
      ctx.log(`STREAM ${i}`);
      const file = ctx.files[i];
      if (file === undefined) {
        socket.destroy(); // v1 has no error reply
        return;
      }
      const bytes = readFileSync(path.join(ctx.root, file));
      const size = Buffer.alloc(4);
      size.writeUInt32BE(bytes.length);
      if (!(await blockingWrite(socket, size))) return;
      for (let pos = 0; pos < bytes.length; pos += WRITE_SIZE) {
        if (!(await blockingWrite(socket, bytes.subarray(pos, pos + WRITE_SIZE)))) return;
      }
    } else {
      ctx.log(`Unknown request: ${line}`);
    }
  }
}
