/**
 * Which protocol a connection speaks, found out without ever having two requests in flight
 * to a server that has not shown it speaks v2.
 *
 * Servers of the original design handle at most one request line per read() of their
 * socket; a second line that came in the same read waits until the client sends something
 * more, and from then on every reply answers the request before. So `HELLO AS/2` goes
 * alone, and the client waits for `AS/2 OK` for a short time scaled to the round trip it
 * measured while connecting. A v2 server answers within that round trip; a v1 server says
 * nothing, and the connection goes on in plain v1. A v2 server that answers after the wait
 * is still recognised, by the first bytes of the next reply (see ConnectionTransport).
 */
import { AudioStreamError, V2_HELLO, V2_HELLO_REPLY, encodeV2Line } from '../protocol/index.js';
import type { ConnectionTransport } from './connection-transport.js';

/** `auto` finds out; `v1` and `v2` say so and skip the probe (as-client --protocol). */
export type ProtocolChoice = 'auto' | 'v1' | 'v2';

export const PROTOCOL_CHOICES: readonly ProtocolChoice[] = ['auto', 'v1', 'v2'];

/**
 * The protocol each server (host:port) turned out to speak, for the rest of the session:
 * a reconnect to a server known to be v1 sends no HELLO and so pays no wait.
 */
export class ServerVersions {
  private readonly known = new Map<string, 1 | 2>();

  get(target: string): 1 | 2 | undefined {
    return this.known.get(target);
  }

  remember(target: string, version: 1 | 2): void {
    this.known.set(target, version);
  }
}

/** The shortest and longest time to wait for an answer to HELLO from a server not yet known. */
export const HELLO_WAIT_MIN_MS = 150;
export const HELLO_WAIT_MAX_MS = 2000;

/**
 * How long to wait for `AS/2 OK`: four connect times (one connect is one round trip) on top
 * of the floor, which covers a server busy for a moment. A too-short wait costs a reconnect
 * (the late answer is still recognised), never a wrong protocol.
 */
export function helloWaitMs(connectMs: number): number {
  return Math.min(HELLO_WAIT_MAX_MS, HELLO_WAIT_MIN_MS + 4 * connectMs);
}

export interface NegotiationOptions {
  choice: ProtocolChoice;
  versions: ServerVersions;
  signal?: AbortSignal;
}

/** The longest answer to HELLO we read: `AS/2 OK <server name>`. */
const MAX_HELLO_REPLY = 1024;

/**
 * Settles the protocol of the newly opened connection in `transport`: 1 or 2. A server known
 * (or said) to be v1 is sent nothing. A server known or said to be v2 must answer HELLO
 * (within the idle timeout); one not known gets the short wait described above.
 */
export async function negotiate(transport: ConnectionTransport, options: NegotiationOptions): Promise<1 | 2> {
  const { choice, versions } = options;
  const target = transport.target;
  const known = choice === 'v1' ? 1 : choice === 'v2' ? 2 : versions.get(target);
  if (known === 1) return 1;
  const probing = known === undefined;
  const wait = probing ? helloWaitMs(transport.connectMs) : transport.options.idleTimeoutMs;
  const answered = await sayHello(transport, wait, probing, choice, options.signal);
  if (answered) {
    versions.remember(target, 2);
    return 2;
  }
  transport.expectLateHello(
    () => versions.remember(target, 1),
    () => versions.remember(target, 2),
  );
  return 1;
}

/** Sends HELLO alone; true once `AS/2 OK` has come, false if nothing came within `waitMs` while probing. */
function sayHello(transport: ConnectionTransport, waitMs: number, probing: boolean, choice: ProtocolChoice, signal: AbortSignal | undefined): Promise<boolean> {
  const socket = transport.socket!;
  let line = Buffer.alloc(0);
  return transport.request<boolean>(encodeV2Line(V2_HELLO), signal, (resolve, reject) => {
    socket.setTimeout(waitMs);
    return {
      onData: (chunk) => {
        if (line.length === 0) socket.setTimeout(transport.options.idleTimeoutMs); // it is answering
        line = Buffer.concat([line, chunk]);
        const lf = line.indexOf(0x0a);
        if (lf === -1) {
          if (line.length > MAX_HELLO_REPLY) reject(new AudioStreamError('PROTOCOL_ERROR', 'the server does not speak this protocol'));
          return;
        }
        const text = line.toString('utf8', 0, lf).replace(/\r$/, '');
        // Nothing may follow: we asked one thing, and a v2 server answers one line.
        if (text.startsWith('ERR TLS_REQUIRED')) {
          // A server started with --require-tls refuses v2 in plain text, then closes.
          reject(new AudioStreamError('TLS_REQUIRED', `${transport.target} takes protocol v2 only over TLS: connect with --tls`));
          return;
        }
        if (!text.startsWith('AS/')) {
          // Something else listens on that port (a web server answers HELLO with "HTTP/1.1 400").
          const what = /^HTTP\/\d/.test(text) ? 'it answers HTTP' : `it said ${JSON.stringify(text.slice(0, 40))}`;
          reject(new AudioStreamError('PROTOCOL_ERROR', `${transport.target} is not an audio-stream server (${what}): check the address and port`));
          return;
        }
        if (!(text === V2_HELLO_REPLY || text.startsWith(`${V2_HELLO_REPLY} `)) || lf + 1 !== line.length) {
          reject(new AudioStreamError('PROTOCOL_ERROR', `the server does not speak this protocol (it said ${JSON.stringify(text.slice(0, 40))})`));
          return;
        }
        transport.finish(socket);
        resolve(true);
      },
      onClose: reject,
      onTimeout: () => {
        if (probing && line.length === 0) {
          // No answer: a server that ignores HELLO, as v1 servers do. Go on in v1 on this connection.
          transport.finish(socket);
          resolve(false);
          return;
        }
        const why =
          line.length > 0 ? `the server stopped answering HELLO for ${transport.options.idleTimeoutMs / 1000} s`
          : choice === 'v2' ? `the server did not answer HELLO AS/2 within ${waitMs / 1000} s: it may speak only protocol v1 (try --protocol auto)`
          : `the server did not answer HELLO AS/2 within ${waitMs / 1000} s (it answered it before: it is busy or stuck)`;
        transport.close(new AudioStreamError('TIMEOUT', why));
      },
    };
  });
}
