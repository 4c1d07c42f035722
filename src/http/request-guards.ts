import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { HttpError } from './responses.js';
import { csrfTokenMatches, type Session } from './sessions.js';

/**
 * With no accounts the web interface is open to whoever can reach it; the Host check keeps
 * a web site the user visits from reaching it anyway through DNS rebinding (its own name
 * pointed at 127.0.0.1): only IP literals and `localhost` are accepted then.
 */
export function checkHostForOpenServer(req: IncomingMessage): void {
  const host = req.headers.host;
  if (host === undefined) throw new HttpError(400, 'BAD_REQUEST', 'the request has no Host header');
  let name = host;
  if (name.startsWith('[')) name = name.slice(1, name.indexOf(']') === -1 ? undefined : name.indexOf(']'));
  else if (name.includes(':')) name = name.slice(0, name.lastIndexOf(':'));
  name = name.toLowerCase();
  if (net.isIP(name) === 0 && name !== 'localhost' && !name.endsWith('.localhost')) {
    throw new HttpError(421, 'BAD_REQUEST', 'without accounts, open this server by its IP address or as localhost');
  }
}

/**
 * Cross-site request forgery, for every state-changing request: the browser's own Origin
 * and Sec-Fetch-Site must not name another site, and a request made within a session must
 * carry that session's CSRF token in X-CSRF-Token (a header another site cannot set without
 * a CORS preflight, which this server never grants).
 */
export function checkStateChangingRequest(req: IncomingMessage, session: Session | undefined, secure: boolean): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, 'CSRF_REJECTED', 'request from another site refused');
  const origin = req.headers.origin;
  if (origin !== undefined) {
    const expected = `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
    if (origin.toLowerCase() !== expected.toLowerCase()) throw new HttpError(403, 'CSRF_REJECTED', 'request from another origin refused');
  }
  if (session && !csrfTokenMatches(session, req.headers['x-csrf-token'])) {
    throw new HttpError(403, 'CSRF_REJECTED', 'missing or wrong X-CSRF-Token: reload the page');
  }
}
