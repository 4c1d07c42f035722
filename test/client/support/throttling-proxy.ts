import net, { type AddressInfo } from 'node:net';

/** One connection through the proxy: what the client sent, and the server's bytes that reached it. */
export interface ProxiedConnection {
  /** The client's bytes, as text (request lines). */
  sent: string;
  /** The server's bytes delivered to the client so far (bounded by `keepBytes`). */
  received: Buffer[];
  receivedBytes: number;
}

/**
 * A SLOW NETWORK STAND-IN: a TCP proxy on loopback in front of a real server that passes
 * the client's bytes at once and the server's at `bytesPerSecond`, in ticks of 20 ms.
 * Back-pressure is real: the server's socket is paused while more than 64 KiB wait, so the
 * server sends no faster than the "network" carries. Each connection's traffic is kept
 * for the test to compare with the files (up to `keepBytes` per connection).
 */
export class ThrottlingProxy {
  readonly connections: ProxiedConnection[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly bytesPerSecond: number,
    private readonly keepBytes = 16 * 1024 * 1024,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const record: ProxiedConnection = { sent: '', received: [], receivedBytes: 0 };
    this.connections.push(record);
    this.sockets.add(client).add(upstream);
    const queue: Buffer[] = [];
    let queued = 0;
    let upstreamEnded = false;
    const perTick = Math.max(1, Math.floor(this.bytesPerSecond / 50));
    const tick = setInterval(() => {
      let budget = perTick;
      while (budget > 0 && queue.length > 0) {
        const head = queue[0]!;
        const piece = head.length <= budget ? head : head.subarray(0, budget);
        if (piece === head) queue.shift();
        else queue[0] = head.subarray(budget);
        budget -= piece.length;
        queued -= piece.length;
        if (record.receivedBytes < this.keepBytes) record.received.push(Buffer.from(piece));
        record.receivedBytes += piece.length;
        if (!client.destroyed) client.write(piece);
      }
      if (queued < 64 * 1024 && upstream.isPaused()) upstream.resume();
      if (upstreamEnded && queue.length === 0) {
        clearInterval(tick);
        client.end();
      }
    }, 20);
    const closeBoth = (): void => {
      clearInterval(tick);
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      record.sent += chunk.toString('latin1');
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= 64 * 1024) upstream.pause();
    });
    upstream.on('end', () => (upstreamEnded = true));
    client.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
  }
}

/** The body of a GET reply in a connection's received bytes: its announced offset and the bytes so far. */
export function getReplyBody(connection: ProxiedConnection): { offset: number; body: Buffer } | undefined {
  const all = Buffer.concat(connection.received);
  // The reply to the GET follows the HELLO exchange ("AS/2 OK name"): find its header line.
  const m = /OK (\d+) (\d+) (\d+)\r\n/.exec(all.toString('latin1'));
  if (!m) return undefined;
  const start = m.index + m[0].length;
  return { offset: Number(m[2]), body: all.subarray(start, start + Number(m[3])) };
}
