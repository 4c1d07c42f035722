/**
 * A raw line-at-a-time v2 peer for login tests: sends a line, waits for the next line back.
 * It models no protocol on purpose (tests spell out every line), and every wait is bounded.
 */
import net from 'node:net';
import tls from 'node:tls';

export class LineClient {
  private buffer = '';
  private waiting: ((line: string) => void) | undefined;
  private readonly lines: string[] = [];
  closed = false;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      let lf;
      while ((lf = this.buffer.indexOf('\n')) !== -1) {
        const line = this.buffer.slice(0, lf).replace(/\r$/, '');
        this.buffer = this.buffer.slice(lf + 1);
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = undefined;
          w(line);
        } else this.lines.push(line);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.('<closed>');
    });
  }

  static connect(port: number, options: { localAddress?: string; tls?: tls.ConnectionOptions } = {}): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tls.connect({ host: '127.0.0.1', port, ...options.tls }, () => resolve(new LineClient(socket)))
        : net.connect({ host: '127.0.0.1', port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) }, () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  /** The next line from the server ("<closed>" if it closed first); rejects after `timeoutMs`. */
  next(timeoutMs = 5000): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve('<closed>');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line from the server within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Sends a line and returns the answer. */
  ask(line: string, timeoutMs?: number): Promise<string> {
    this.send(line);
    return this.next(timeoutMs);
  }

  /** HELLO alone (no fallback probe), answered with `AS/2 OK ...`. */
  async hello(): Promise<string> {
    return this.ask('HELLO AS/2');
  }

  close(): void {
    this.socket.destroy();
  }
}
