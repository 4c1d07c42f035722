import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticator } from '../accounts/index.js';
import type { SubsonicParams } from './request-params.js';
import { SubsonicError, SubsonicErrorCode } from './responses.js';

/** Longest user name, password, token or salt looked at (every length limited). */
const MAX_CREDENTIAL_LENGTH = 1024;

/** Who is making a Subsonic request. */
export interface SubsonicUser {
  name: string;
  role: string;
}

const WRONG = 'wrong username or password (token logins, as most apps send, need an app password: as-server user passwd NAME --app-password)';

/**
 * Subsonic's three ways of logging in, checked on every request (the API has no sessions):
 * - `u` + `p`: the login password, plain or `enc:` + hex of its UTF-8; checked by the
 *   accounts' Authenticator like a web login (stored SCRAM keys, shared throttle);
 * - `u` + `t` + `s`: t = md5(app password + s), which needs the password itself, so it is
 *   checked against the account's opt-in app password (never the login password);
 * - `apiKey`: not supported yet (no key storage): error 42, and not advertised in
 *   getOpenSubsonicExtensions.
 * Every failure counts in the accounts' LoginThrottle, the one the TCP and web logins use.
 * Without accounts the server is open, as its other interfaces are: any `u` is accepted.
 */
export class SubsonicAuth {
  private readonly authenticator: Authenticator | undefined;

  constructor(authenticator: Authenticator | undefined) {
    this.authenticator = authenticator;
  }

  /** @throws SubsonicError 10, 40, 42 or 43. */
  async authenticate(params: SubsonicParams, address: string): Promise<SubsonicUser> {
    const apiKey = params.get('apiKey');
    const name = params.get('u');
    const password = params.get('p');
    const token = params.get('t');
    const salt = params.get('s');
    if (apiKey !== undefined) {
      if (name !== undefined || password !== undefined || token !== undefined) {
        throw new SubsonicError(SubsonicErrorCode.CONFLICTING_MECHANISMS, 'multiple conflicting authentication mechanisms provided: send apiKey alone, or u with p or t and s');
      }
      throw new SubsonicError(SubsonicErrorCode.MECHANISM_NOT_SUPPORTED, 'apiKey authentication is not supported by this server: log in with a user name and password');
    }
    if (name === undefined || name === '') throw new SubsonicError(SubsonicErrorCode.MISSING_PARAMETER, 'required parameter is missing: u');
    if (password !== undefined && token !== undefined) {
      throw new SubsonicError(SubsonicErrorCode.CONFLICTING_MECHANISMS, 'multiple conflicting authentication mechanisms provided: send p, or t and s, not both');
    }
    if (password === undefined && (token === undefined || salt === undefined)) {
      throw new SubsonicError(SubsonicErrorCode.MISSING_PARAMETER, 'required parameter is missing: p, or t and s');
    }
    for (const value of [name, password, token, salt]) {
      if (value !== undefined && value.length > MAX_CREDENTIAL_LENGTH) throw new SubsonicError(SubsonicErrorCode.WRONG_CREDENTIALS, WRONG);
    }
    const authenticator = this.authenticator;
    if (!authenticator || !(await authenticator.store.hasAccounts())) return { name, role: 'admin' };
    if (password !== undefined) {
      const plain = decodePassword(password);
      const account = plain === undefined ? undefined : await authenticator.verifyPassword(address, name, plain);
      if (plain === undefined) authenticator.throttle.recordFailure(address, name);
      if (!account) throw new SubsonicError(SubsonicErrorCode.WRONG_CREDENTIALS, WRONG);
      return { name: account.name, role: account.role };
    }
    const delay = authenticator.throttle.reserve(address, name);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const account = await authenticator.store.find(name);
    // Computed for unknown names and accounts without an app password too: the same work either way.
    const expected = createHash('md5').update((account?.appPassword ?? '\0no app password') + salt!, 'utf8').digest();
    const given = /^[0-9a-fA-F]{32}$/.test(token!) ? Buffer.from(token!, 'hex') : Buffer.alloc(16);
    if (timingSafeEqual(expected, given) && account?.appPassword !== undefined && /^[0-9a-fA-F]{32}$/.test(token!)) {
      authenticator.throttle.recordSuccess(address, name);
      return { name: account.name, role: account.role };
    }
    authenticator.throttle.recordFailure(address, name);
    throw new SubsonicError(SubsonicErrorCode.WRONG_CREDENTIALS, WRONG);
  }
}

/** `p` as sent: plain, or `enc:` and the hex of its UTF-8 bytes. Undefined when `enc:` is not hex. */
export function decodePassword(p: string): string | undefined {
  if (!p.startsWith('enc:')) return p;
  const hex = p.slice(4);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex').toString('utf8');
}
