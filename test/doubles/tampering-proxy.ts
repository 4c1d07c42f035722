/**
 * Test double: a TCP proxy between a client and a real server that damages the server's
 * replies on purpose — it can cut the connection after N bytes (a server that dies
 * mid-transfer) or flip one byte (corruption on the way). Offsets count the bytes of the
 * server → client stream of each connection, from 0.
 */
import net, { type AddressInfo } from 'node:net';

export interface TamperingProxyOptions {
  targetPort: number;
  /** Close both sides once this many server bytes have been forwarded (first connection only). */
  cutAfter?: number;
  /** XOR this byte of the server's stream with 0xff (first connection only). */
  flipByteAt?: number;
}

export interface TamperingProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTamperingProxy(options: TamperingProxyOptions): Promise<TamperingProxy> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((client) => {
    const first = connections++ === 0;
    const upstream = net.connect(options.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    let forwarded = 0;
    upstream.on('data', (chunk: Buffer) => {
      let out = chunk;
      if (first && options.flipByteAt !== undefined && options.flipByteAt >= forwarded && options.flipByteAt < forwarded + chunk.length) {
        out = Buffer.from(chunk);
        out[options.flipByteAt - forwarded]! ^= 0xff;
      }
      if (first && options.cutAfter !== undefined && forwarded + out.length >= options.cutAfter) {
        client.write(out.subarray(0, options.cutAfter - forwarded), () => {
          client.destroy();
          upstream.destroy();
        });
        forwarded = options.cutAfter;
        upstream.pause();
        return;
      }
      forwarded += out.length;
      if (!client.write(out)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
