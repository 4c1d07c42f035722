import net, { type AddressInfo } from 'node:net';

/** How the double answers STREAM for one index. */
export type StreamAnswer =
  /** The whole body, as a well-behaved server would. */
  | { kind: 'complete'; body: Buffer }
  /** Announce `declared` bytes, send `body` (fewer), then close: a server dying mid-transfer. */
  | { kind: 'truncate'; declared: number; body: Buffer }
  /** The whole body followed by bytes nobody asked for. */
  | { kind: 'overlong'; body: Buffer; extra: Buffer };

export interface ScriptedServerOptions {
  /** Paths by index (index 0 first); sent highest index first, as v1 does. */
  paths: string[];
  streams?: Map<number, StreamAnswer>;
  /**
   * How requests are read. `one-per-read` (default), as servers built on the original
   * starter code do: after each chunk that arrives, at most one request is handled, and
   * the rest waits until the next chunk. `all`: every request in a chunk at once.
   */
  reads?: 'one-per-read' | 'all';
}

export interface ScriptedServer {
  port: number;
  /** Every request received, in order, across all connections: a line, or "STREAM <i>". */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A raw net.Server that speaks protocol v1 only, from hand-written bytes (not our encoder
 * or server), so a test can make it misbehave on purpose and see which requests the client
 * sent. Like the original v1 server it ignores request lines it does not know (a v2
 * client's `HELLO AS/2` included), and by default it handles one request per chunk read.
 */
export async function startScriptedServer(options: ScriptedServerOptions): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let wantIndex = false;
    const onePerRead = (options.reads ?? 'one-per-read') === 'one-per-read';
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let handled = 0;
      for (;;) {
        if (wantIndex) {
          // STREAM\r\n is followed by the index: 32-bit unsigned big-endian.
          if (pending.length < 4) return;
          const index = pending.readUInt32BE(0);
          pending = pending.subarray(4);
          wantIndex = false;
          requests.push(`STREAM ${index}`);
          const answer = options.streams?.get(index);
          if (!answer) {
            socket.destroy(); // v1 has no error reply: closing is all a server can do
            return;
          }
          const size = Buffer.alloc(4);
          size.writeUInt32BE(answer.kind === 'truncate' ? answer.declared : answer.body.length);
          if (answer.kind === 'truncate') {
            socket.end(Buffer.concat([size, answer.body]));
            return;
          }
          socket.write(Buffer.concat([size, answer.body, answer.kind === 'overlong' ? answer.extra : Buffer.alloc(0)]));
          continue;
        }
        if (onePerRead && handled > 0) return; // the rest waits for the next read
        const lf = pending.indexOf(0x0a);
        if (lf === -1) return;
        handled++;
        const line = pending.subarray(0, lf).toString('latin1').replace(/\r$/, '');
        pending = pending.subarray(lf + 1);
        if (line === 'STREAM') {
          wantIndex = true;
          continue;
        }
        requests.push(line);
        if (line === 'LIST') {
          // "<index>:<path>\r\n", highest index first, ending with index 0.
          const lines = options.paths.map((p, i) => `${i}:${p}\r\n`).reverse().join('');
          socket.write(Buffer.from(lines, 'utf8'));
        }
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
