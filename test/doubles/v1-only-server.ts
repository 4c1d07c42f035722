/**
 * Test double: a server that speaks only protocol v1, as the original C server does. It
 * answers LIST and STREAM and silently ignores every other request line (HELLO AS/2
 * included). Written by hand from the protocol description, independent of src/, so that
 * it checks our client against the protocol rather than against our own server code.
 */
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';

export interface V1OnlyServer {
  port: number;
  /** Every request line received, in order (STREAM indexes as `STREAM <n>`). */
  requests: string[];
  close(): Promise<void>;
}

/** `files` in index order: [relative path, absolute path on disk]. */
export async function startV1OnlyServer(files: readonly [string, string][]): Promise<V1OnlyServer> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let wantIndex = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (wantIndex) {
          if (pending.length < 4) return;
          const index = pending.readUInt32BE(0);
          pending = pending.subarray(4);
          wantIndex = false;
          requests.push(`STREAM ${index}`);
          const file = files[index];
          if (!file) {
            socket.destroy();
            return;
          }
          const data = readFileSync(file[1]);
          const size = Buffer.alloc(4);
          size.writeUInt32BE(data.length, 0);
          socket.write(Buffer.concat([size, data]));
          continue;
        }
        const lf = pending.indexOf(0x0a);
        if (lf === -1) return;
        const line = pending.subarray(0, lf).toString('latin1').replace(/\r$/, '');
        pending = pending.subarray(lf + 1);
        requests.push(line);
        if (line === 'LIST') {
          let reply = '';
          for (let i = files.length - 1; i >= 0; i--) reply += `${i}:${files[i]![0]}\r\n`;
          socket.write(Buffer.from(reply, 'utf8'));
        } else if (line === 'STREAM') {
          wantIndex = true;
        }
        // anything else: ignored, as the original server does
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
