import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from './log.js';
import { formatPeer } from './log.js';

/** A TLS record starts with content type 22 (handshake); no v1 or v2 request starts with it. */
const TLS_HANDSHAKE = 0x16;

export interface FirstByteOptions {
  /** Present when the server has `--tls-cert`/`--tls-key`. */
  tls: tls.SecureContext | undefined;
  /** The first byte must come within this long (the idle timeout; 0 = no limit). */
  firstByteTimeoutMs: number;
  /** A TLS handshake begun must end within this long (the request timeout). */
  handshakeTimeoutMs: number;
  log: Logger;
}

/**
 * One port for everything: waits for the peer's first bytes, then hands over either the
 * socket itself (plain v1/v2) or a server-side TLSSocket on it. The bytes read are put back
 * (`unshift`); TLSSocket feeds bytes already buffered on the socket to its TLS engine. A TLS
 * peer on a server without a certificate is closed at once with a log line, rather than
 * left waiting for a handshake that will never come.
 */
export function routeByFirstByte(socket: net.Socket, options: FirstByteOptions, ready: (socket: net.Socket) => void): void {
  const peer = formatPeer(socket.remoteAddress, socket.remotePort);
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, what: string): void => {
    clearTimeout(timer);
    if (ms <= 0) return;
    timer = setTimeout(() => {
      options.log.warn(`${peer} closing: ${what} within ${ms / 1000} s`);
      socket.destroy();
    }, ms);
    timer.unref();
  };
  arm(options.firstByteTimeoutMs, 'no traffic');
  let secureSocket: tls.TLSSocket | undefined;
  const gone = (): void => clearTimeout(timer);
  socket.once('close', gone);
  socket.on('error', () => {}); // 'close' follows
  socket.once('end', () => {
    if (!secureSocket) socket.destroy(); // nothing was asked
  });
  socket.once('data', (first: Buffer) => {
    socket.pause();
    socket.unshift(first);
    if (first[0] !== TLS_HANDSHAKE) {
      clearTimeout(timer);
      socket.removeAllListeners('end');
      socket.off('close', gone);
      ready(socket);
      socket.resume();
      return;
    }
    if (!options.tls) {
      clearTimeout(timer);
      options.log.warn(`${peer} closing: a TLS client, but this server has no certificate (start it with --tls-cert and --tls-key)`);
      socket.destroy();
      return;
    }
    socket.removeAllListeners('end');
    arm(options.handshakeTimeoutMs || 10_000, 'TLS handshake not completed');
    secureSocket = new tls.TLSSocket(socket, { isServer: true, secureContext: options.tls });
    secureSocket.on('error', (err: NodeJS.ErrnoException) => {
      if (!handshakeDone) options.log.warn(`${peer} TLS handshake failed: ${err.code ?? err.message}`);
      socket.destroy();
    });
    let handshakeDone = false;
    secureSocket.once('secure', () => {
      handshakeDone = true;
      clearTimeout(timer);
      ready(secureSocket!);
    });
  });
}

/** The server's TLS settings: TLS 1.2 at least, 1.3 when the client has it (Node's default maximum). */
export function createServerTlsContext(cert: Buffer, key: Buffer): tls.SecureContext {
  return tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
}
