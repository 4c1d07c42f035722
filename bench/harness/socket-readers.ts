import { createHash, type Hash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

/**
 * Bare protocol-v1 readers for the bench: no parser objects, no per-chunk allocation.
 * They read with `onread` into one reusable buffer (shared by every socket of this
 * process: each callback finishes before the next read), so the reading side costs as
 * little as Node allows and the figures are the server's.
 */
const sharedReadBuffer = Buffer.allocUnsafe(1024 * 1024);

export const HOST = '127.0.0.1';

export interface StreamReadResult {
  /** The size the server announced. */
  size: number;
  /** Body bytes received. */
  bytes: number;
  /** From connect to the last byte. */
  ms: number;
  sha256?: string;
}

function streamRequest(index: number): Buffer {
  const buf = Buffer.alloc(12);
  buf.write('STREAM\r\n', 0, 'latin1');
  buf.writeUInt32BE(index, 8);
  return buf;
}

/** STREAM `index` on a fresh connection and count the body; rejects on a short or long reply. */
export function readStream(port: number, index: number, options: { hash?: boolean; timeoutMs: number; signal?: AbortSignal; tls?: tls.ConnectionOptions }): Promise<StreamReadResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const header = Buffer.alloc(4);
    let headerBytes = 0;
    let size = -1;
    let bytes = 0;
    let settled = false;
    const hash: Hash | undefined = options.hash ? createHash('sha256') : undefined;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve({ size, bytes, ms: performance.now() - started, ...(hash ? { sha256: hash.digest('hex') } : {}) });
    };
    const onAbort = (): void => settle(new Error('aborted'));
    const connect = options.tls
      ? (o: net.NetConnectOpts) => tls.connect({ ...(o as tls.ConnectionOptions), ...options.tls })
      : (o: net.NetConnectOpts) => net.connect(o);
    const socket = connect({
      host: HOST,
      port,
      onread: {
        buffer: sharedReadBuffer,
        callback: (nread: number, buf: Uint8Array): boolean => {
          let offset = 0;
          while (headerBytes < 4 && offset < nread) header[headerBytes++] = buf[offset++]!;
          if (headerBytes === 4 && size < 0) size = header.readUInt32BE(0);
          const body = nread - offset;
          if (body > 0) {
            bytes += body;
            hash?.update(buf.subarray(offset, nread));
          }
          if (size >= 0 && bytes > size) settle(new Error(`STREAM ${index}: ${bytes} bytes received, ${size} announced`));
          else if (size >= 0 && bytes === size) settle(undefined);
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    socket.on(options.tls ? 'secureConnect' : 'connect', () => socket.write(streamRequest(index)));
    socket.on('error', (err) => settle(err));
    socket.on('close', () => settle(new Error(`STREAM ${index}: connection closed after ${bytes} of ${size} bytes`)));
    const timer = setTimeout(() => settle(new Error(`STREAM ${index}: no complete reply within ${options.timeoutMs / 1000} s (${bytes} of ${size} bytes)`)), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ListReadResult {
  lines: number;
  bytes: number;
  /** From connect to the last byte. */
  ms: number;
  /** First and last lines, to check the order (highest index first, ending with 0). */
  first: string;
  last: string;
}

/** LIST on a fresh connection, done after `expectedLines` line ends. */
export function readList(port: number, expectedLines: number, timeoutMs: number): Promise<ListReadResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let lines = 0;
    let bytes = 0;
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      const ms = performance.now() - started;
      clearTimeout(timer);
      socket.destroy();
      if (err) return reject(err);
      const all = Buffer.concat(chunks);
      const firstEnd = all.indexOf('\r\n');
      const lastStart = all.lastIndexOf('\r\n', all.length - 3);
      resolve({
        lines,
        bytes,
        ms,
        first: all.subarray(0, firstEnd).toString('utf8'),
        last: all.subarray(lastStart < 0 ? 0 : lastStart + 2, all.length - 2).toString('utf8'),
      });
    };
    const socket = net.connect({ host: HOST, port });
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write('LIST\r\n'));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      if (lines >= expectedLines) settle(undefined);
    });
    socket.on('error', (err) => settle(err));
    socket.on('close', () => settle(new Error(`LIST: connection closed after ${lines} of ${expectedLines} lines`)));
    const timer = setTimeout(() => settle(new Error(`LIST: no complete reply within ${timeoutMs / 1000} s (${lines} of ${expectedLines} lines)`)), timeoutMs);
  });
}

/**
 * Opens `count` connections that send nothing, `batch` at a time, `perAddress` from each
 * source address 127.0.0.2, 127.0.0.3, … (as many clients on as many hosts would, and
 * under the server's per-address cap). `closedByPeer` counts those the server closed.
 */
export async function openIdleConnections(
  port: number,
  count: number,
  options: { batch: number; perAddress: number; timeoutMs: number },
): Promise<{ sockets: net.Socket[]; close: () => void; closedByPeer: () => number }> {
  const { batch, perAddress, timeoutMs } = options;
  const sockets: net.Socket[] = [];
  let closing = false;
  let closedByPeer = 0;
  const close = (): void => {
    closing = true;
    for (const s of sockets) s.destroy();
  };
  try {
    for (let opened = 0; opened < count; ) {
      const n = Math.min(batch, count - opened);
      await Promise.all(
        Array.from(
          { length: n },
          () =>
            new Promise<void>((resolve, reject) => {
              const localAddress = `127.0.0.${2 + Math.floor(sockets.length / perAddress)}`;
              const s = net.connect({ host: HOST, port, localAddress });
              sockets.push(s);
              s.once('close', () => {
                if (!closing) closedByPeer++;
              });
              const timer = setTimeout(() => reject(new Error(`idle connection ${sockets.length}: no connect within ${timeoutMs / 1000} s`)), timeoutMs);
              s.once('connect', () => {
                clearTimeout(timer);
                resolve();
              });
              s.on('error', (err) => {
                clearTimeout(timer);
                reject(err);
              });
            }),
        ),
      );
      opened += n;
    }
  } catch (err) {
    close();
    throw err;
  }
  return { sockets, close, closedByPeer: () => closedByPeer };
}

/** sha256 of a whole file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const { createReadStream } = await import('node:fs');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
