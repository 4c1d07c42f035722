import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebUser } from './web-authenticator.js';

export const SESSION_COOKIE = 'as_session';
/** A session lasts this long from login. */
export const SESSION_LIFETIME_MS = 7 * 24 * 3600 * 1000;
/** Sessions kept at once; past it the oldest is dropped (its user logs in again). */
export const MAX_SESSIONS = 10_000;

export interface Session {
  user: WebUser;
  /** Sent back by the page in X-CSRF-Token on every state-changing request (csrfTokenFor the cookie's token). */
  csrfToken: string;
  expiresAt: number;
  /** The user's credential stamp at login (WebAuthenticator.credentialStamp), when accounts give one. */
  credentialStamp?: string;
}

/** Where sessions live: in memory (SessionStore) or in the server database (session-store.ts). */
export interface WebSessionStore {
  create(user: WebUser, credentialStamp?: string): { token: string; session: Session };
  /** The request's session, if its cookie names a live one. */
  find(req: IncomingMessage): { token: string; session: Session } | undefined;
  remove(token: string): void;
  /** Ends every session of `name` (the user's password changed, or the user was removed). */
  removeUser(name: string): void;
}

/**
 * Logged-in browsers, in memory (a server without a data directory, and tests; as-server
 * keeps them in its database: session-store.ts): a random 256-bit token in an HttpOnly,
 * SameSite=Strict cookie (Secure under TLS) names a session. Each session has
 * its own CSRF token (csrfTokenFor), which only a page of this origin can read (from
 * /api/session) and must echo in a header, something a cross-site form or image can never do.
 */
export class SessionStore implements WebSessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  create(user: WebUser, credentialStamp?: string): { token: string; session: Session } {
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const token = newSessionToken();
    const session: Session = { user, csrfToken: csrfTokenFor(token), expiresAt: this.now() + SESSION_LIFETIME_MS, ...(credentialStamp === undefined ? {} : { credentialStamp }) };
    this.sessions.set(token, session);
    return { token, session };
  }

  /** The request's session, if its cookie names a live one. */
  find(req: IncomingMessage): { token: string; session: Session } | undefined {
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (token === undefined) return undefined;
    const session = this.sessions.get(token);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(token);
      return undefined;
    }
    return { token, session };
  }

  remove(token: string): void {
    this.sessions.delete(token);
  }

  removeUser(name: string): void {
    for (const [token, session] of this.sessions) if (session.user.name === name) this.sessions.delete(token);
  }

  /** The Set-Cookie value for a new session. */
  static cookie(token: string, secure: boolean): string {
    return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_LIFETIME_MS / 1000}${secure ? '; Secure' : ''}`;
  }

  /** The Set-Cookie value that removes the cookie. */
  static clearedCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
  }
}

/** A new session's cookie token: 256 random bits, 43 base64url characters. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A session's CSRF token, derived from its cookie token (an HMAC keyed by it), so that no
 * store keeps it: a copy of the sessions table (which holds only the tokens' SHA-256) yields
 * neither a cookie nor a CSRF token. A cross-site page cannot compute it, since it never
 * sees the HttpOnly cookie.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('audiostream web csrf v1').digest('base64url');
}

/** True when `given` is the session's CSRF token (compared in constant time). */
export function csrfTokenMatches(session: Session, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One cookie's value from a Cookie header (the first of that name; bounded by Node's header limit). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
