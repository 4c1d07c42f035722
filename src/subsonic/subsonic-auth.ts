import { createHash, timingSafeEqual } from 'node:crypto';
import { apiKeyHash, MAX_API_KEY_LENGTH, type Authenticator } from '../accounts/index.js';
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
 * - `apiKey` (the `apiKeyAuthentication` extension): alone, never with `u`, `p`, `t` or `s`
 *   (error 43); a key `as-server user apikey NAME` made, looked up by its SHA-256 (error 44
 *   when no account has it).
 * Every failure counts in the accounts' LoginThrottle, the one the TCP and web logins use.
 * Without accounts the server is open, as its other interfaces are: any `u` is accepted.
 */
export class SubsonicAuth {
  private readonly authenticator: Authenticator | undefined;

  constructor(authenticator: Authenticator | undefined) {
    this.authenticator = authenticator;
  }

  /** @throws SubsonicError 10, 40, 43 or 44. */
  async authenticate(params: SubsonicParams, address: string): Promise<SubsonicUser> {
    const apiKey = params.get('apiKey');
    const name = params.get('u');
    const password = params.get('p');
    const token = params.get('t');
    const salt = params.get('s');
    if (apiKey !== undefined) {
      if (name !== undefined || password !== undefined || token !== undefined || salt !== undefined) {
        throw new SubsonicError(SubsonicErrorCode.CONFLICTING_MECHANISMS, 'multiple conflicting authentication mechanisms provided: send apiKey alone, or u with p or t and s');
      }
      return this.byApiKey(apiKey, address);
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

  private async byApiKey(apiKey: string, address: string): Promise<SubsonicUser> {
    const authenticator = this.authenticator;
    // Without accounts there are no keys, and nothing to log in to: the API is open.
    if (!authenticator || !(await authenticator.store.hasAccounts())) return { name: 'guest', role: 'admin' };
    const throttleName = apiKeyThrottleName(address);
    const delay = authenticator.throttle.reserve(address, throttleName);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const account = apiKey !== '' && apiKey.length <= MAX_API_KEY_LENGTH ? await authenticator.store.findByApiKeyHash(apiKeyHash(apiKey)) : undefined;
    if (!account) {
      authenticator.throttle.recordFailure(address, throttleName);
      throw new SubsonicError(SubsonicErrorCode.INVALID_API_KEY, INVALID_KEY);
    }
    authenticator.throttle.recordSuccess(address, throttleName);
    return { name: account.name, role: account.role };
  }
}

const INVALID_KEY = 'invalid API key (make one with: as-server user apikey NAME)';

/**
 * Failed key logins are counted per address only: a key names no account before it is
 * found, and one shared name would let anyone slow down everybody's key logins.
 */
const apiKeyThrottleName = (address: string): string => `\0apiKey ${address}`;

/** `p` as sent: plain, or `enc:` and the hex of its UTF-8 bytes. Undefined when `enc:` is not hex. */
export function decodePassword(p: string): string | undefined {
  if (!p.startsWith('enc:')) return p;
  const hex = p.slice(4);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex').toString('utf8');
}
